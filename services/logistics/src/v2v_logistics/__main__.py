"""``python -m v2v_logistics [api|consumer|relay|all]``: run the logistics service's roles;
``migrate`` brings the schema up to date; ``rebuild`` rebuilds the read models from the
event store."""

from v2v_runtime.service import main

from .bootstrap import build

if __name__ == "__main__":
    main(build)
