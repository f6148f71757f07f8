# rumpnet: build, test, demo.  `make help` lists the targets.

CARGO ?= cargo
CC ?= cc
PREFIX ?= /usr/local
TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
LIBDIR := $(TOP)/target/release

.PHONY: all build examples headers header-check lint test unit-test c-test demo bench install help clean

all: build examples

help:
	@echo "make            build librump.so, the tools and the C examples (release)"
	@echo "make test       everything CI checks: lint, headers, unit and end-to-end tests"
	@echo "make demo       the routed network of processes on shmif buses, rping and ttcp"
	@echo "make bench      rumpnet and the Linux kernel side by side, as ratios"
	@echo "make headers    regenerate include/rump/*.h with the pinned cbindgen"
	@echo "make install PREFIX=/usr/local   library, headers and rump.pc"

build:
	$(CARGO) build --release --workspace

examples: build
	$(MAKE) -C examples-c
	mkdir -p tests/c/build
	$(CC) -O2 -g -Wall -Wextra -Werror -std=c99 -I include -o tests/c/build/errno_test \
	    tests/c/errno_test.c -L $(LIBDIR) -lrump -Wl,-rpath,$(LIBDIR)
	$(CC) -O2 -g -Wall -Wextra -Werror -std=c99 -D_DEFAULT_SOURCE -I include -o tests/c/build/macro_test \
	    tests/c/macro_test.c -L $(LIBDIR) -lrump -Wl,-rpath,$(LIBDIR)
	$(CC) -O2 -g -Wall -Wextra -Werror -std=c99 -I include -o tests/c/build/netconfig_test \
	    tests/c/netconfig_test.c -L $(LIBDIR) -lrump -Wl,-rpath,$(LIBDIR)
	$(CC) -O2 -g -Wall -Wextra -Werror -std=c99 -pthread -I include -o tests/c/build/kernels_test \
	    tests/c/kernels_test.c -L $(LIBDIR) -lrump -Wl,-rpath,$(LIBDIR)

headers:
	$(CARGO) run -q --release -p rumpgen -- generate include/rump

header-check:
	$(CARGO) run -q --release -p rumpgen -- check include/rump
	sh tests/headers/check.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

unit-test: build
	$(CARGO) test --release --workspace

test: lint all header-check unit-test
	sh tests/install.sh
	rm -rf target/demo && DEMO_DIR=$(TOP)/target/demo sh tests/demo.sh > target/demo.out 2>&1 || { cat target/demo.out; exit 1; }
	grep -q "50 messages sent, 50 echoed" target/demo.out || { cat target/demo.out; exit 1; }
	grep -q "ttcp-r: 134217728 bytes" target/demo.out || { cat target/demo.out; exit 1; }
	@echo "PASS make demo (routed network on shmif: rping UDP/TCP and ttcp TCP through the router)"

demo: all
	sh tests/demo.sh

bench: examples
	$(LIBDIR)/rumpbench

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/rump $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIBDIR)/librump.so $(DESTDIR)$(PREFIX)/lib/librump.so
	install -m 0644 include/rump/*.h $(DESTDIR)$(PREFIX)/include/rump/
	sed -e 's|@PREFIX@|$(PREFIX)|g' librump/rump.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/rump.pc

clean:
	$(CARGO) clean
	$(MAKE) -C examples-c clean
