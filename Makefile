# The two commands (README.md):
#   make run    install what is missing, build (release) and serve the Python quickstart example
#               (examples/quickstart/server.py) over stdio
#   make test   install what is missing, build and run every test: the main suite (-Werror build),
#               then the unit tests and fuzz corpora under ASan+UBSan, the unit tests under TSan,
#               and the Python host tests on Debian's 3.11 (shared-GIL fallback) and on 3.12
# Other targets: make bench (queue, stdio, Python echo, cold start, GIL, objects, HTTP/WS, MCP
# over HTTP, then bench/results/report.md with plots; see bench/README.md), make test-quick (main
# suite only), make format, make clean.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test test-quick bench format clean bootstrap

bootstrap:
	@scripts/bootstrap.sh

# Set-up and build output go to stderr: stdout carries only the MCP protocol, so an MCP client
# can launch `make -s run` itself.
run:
	@scripts/bootstrap.sh >&2
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) >&2
	@exec ./build/release/fasterapi run examples/quickstart/server.py

test:
	@scripts/test_all.sh

test-quick:
	@scripts/test_all.sh --quick

bench:
	@scripts/bootstrap.sh --test
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@./build/release/bench/queue/bench_queue
	@bench/stdio/run.sh
	@bench/python/run.sh
	@bench/python/coldstart.sh
	@bench/gil/run.sh
	@bench/objects/run.sh
	@bench/http/run.sh
	@bench/mcp_http/run.sh
	@bench/report.sh

format:
	@clang-format-14 -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
