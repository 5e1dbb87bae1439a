"""``python -m v2v_qc [api|consumer|relay|all]``: run the qc service's roles."""

from v2v_runtime.service import main

from .bootstrap import build

if __name__ == "__main__":
    main(build)
