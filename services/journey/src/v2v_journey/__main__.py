"""``python -m v2v_journey [worker|bridge|all]`` or ``python -m v2v_journey migrate``."""

from .worker import main

if __name__ == "__main__":
    main()
