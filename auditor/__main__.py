"""`python -m auditor` runs the same CLI as the `tokaudit` console script."""

from auditor.cli import main

if __name__ == "__main__":
    main()
