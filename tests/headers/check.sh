#!/bin/sh
# Compiles the generated include/rump headers with the host's C and C++
# compilers, warnings as errors, and runs the layout/macro test:
#   - hdr_c99.c as strict C99, then with _DEFAULT_SOURCE (glibc's ifreq and
#     ifr_* macros visible) with host headers first and rump headers first;
#   - hdrtest.c as C11 and as C++11 (static layout asserts), then runs both
#     binaries (RUMP_FD_* and RUMP_CMSG_* at run time).
# Prints one PASS or FAIL line per step; exits 1 if any failed.
# Usage: tests/headers/check.sh   (CC, CXX and CFLAGS are honoured)
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
WARN="-Wall -Wextra -Werror -pedantic"
INC="-I$top/include"
out=$(mktemp -d "${TMPDIR:-/tmp}/rump-hdr.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
status=0

step() {
	name=$1
	shift
	if "$@" >"$out/log" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$out/log"
		status=1
	fi
}

# shellcheck disable=SC2086 # WARN, INC and CFLAGS are word lists
step "c99: strict, host headers then rump headers" \
	$CC -std=c99 $WARN ${CFLAGS:-} $INC -c "$here/hdr_c99.c" -o "$out/c99a.o"
# shellcheck disable=SC2086
step "c99: _DEFAULT_SOURCE, host headers then rump headers" \
	$CC -std=c99 $WARN ${CFLAGS:-} $INC -D_DEFAULT_SOURCE \
	-c "$here/hdr_c99.c" -o "$out/c99b.o"
# shellcheck disable=SC2086
step "c99: _DEFAULT_SOURCE, rump headers then host headers" \
	$CC -std=c99 $WARN ${CFLAGS:-} $INC -D_DEFAULT_SOURCE -DRUMP_FIRST \
	-c "$here/hdr_c99.c" -o "$out/c99c.o"
# shellcheck disable=SC2086
step "c11: layout asserts (hdrtest.c)" \
	$CC -std=c11 $WARN ${CFLAGS:-} $INC "$here/hdrtest.c" -o "$out/hdrtest-c"
if [ -x "$out/hdrtest-c" ]; then
	step "c11: macros at run time" "$out/hdrtest-c"
fi
# shellcheck disable=SC2086
step "c++11: layout asserts (hdrtest.c as C++)" \
	$CXX -std=c++11 $WARN ${CXXFLAGS:-} $INC -x c++ "$here/hdrtest.c" -o "$out/hdrtest-cxx"
if [ -x "$out/hdrtest-cxx" ]; then
	step "c++11: macros at run time" "$out/hdrtest-cxx"
fi

exit $status
