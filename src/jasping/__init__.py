"""JasPing: AI customer-service agents for businesses, privacy first."""

import zoneinfo

# One source of time-zone data everywhere: the pinned `tzdata` package, never the system's zone
# files (pip's and Debian's disagree on Africa/Casablanca in 2026).
zoneinfo.reset_tzpath(to=[])

__version__ = "0.1.0"
