"""``python -m v2v_journey [worker|bridge|all]``."""

from .worker import main

if __name__ == "__main__":
    main()
