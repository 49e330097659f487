import sys

from pyodist.cli import main

sys.exit(main())
