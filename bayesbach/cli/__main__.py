import sys

from bayesbach.cli import main

sys.exit(main())
