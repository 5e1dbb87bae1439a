"""``python -m v2v_custody [api|consumer|relay|all]``: run the custody service's roles."""

from v2v_runtime.service import main

from .bootstrap import build

if __name__ == "__main__":
    main(build)
