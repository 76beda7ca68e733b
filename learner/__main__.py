"""``python -m learner``."""

from learner.cli import main

if __name__ == "__main__":
    main()
