"""``python -m cgan`` and ``torchrun -m cgan`` run the command line."""
from .cli import main

if __name__ == "__main__":
    main()
