#!/bin/sh
# make install into a temporary prefix, then build and run a program with pkg-config.
set -eu
cd "$(dirname "$0")/.."
PFX=$(mktemp -d)
trap 'rm -rf "$PFX"' EXIT
make -s install PREFIX="$PFX" >/dev/null
cat > "$PFX/t.c" <<'C'
#include <stdio.h>
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
int main(void)
{
	int s;

	if (rump_init() != 0)
		return 1;
	s = rump_sys_socket(RUMP_AF_INET, RUMP_SOCK_DGRAM, 0);
	printf("socket %d\n", s);
	return s == 0 ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$PFX/lib/pkgconfig"
cc -Wall -Werror -o "$PFX/t" "$PFX/t.c" $(pkg-config --cflags --libs rump)
RUMP_NET=sockin "$PFX/t" | grep -q "socket 0"
echo "PASS make install + pkg-config"
