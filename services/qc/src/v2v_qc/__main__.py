"""``python -m v2v_qc [api|consumer|relay|all | migrate | rebuild]``: run the qc service's
roles, bring its schema up to date, or rebuild its read models."""

from v2v_runtime.service import main

from .bootstrap import build

if __name__ == "__main__":
    main(build)
