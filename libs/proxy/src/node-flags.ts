/**
 * Node flags to run the proxy under: `node --no-memory-reducer jetplane.js proxy ...` (`jetplane dev`
 * and the bench do; V8 flags cannot be set once the process runs, nor through NODE_OPTIONS).
 *
 * Why: V8's memory reducer, started after ~8 s without load, shrinks the old generation's limit to
 * just above what is live. The proxy promotes a little per request, so when a burst of large responses
 * comes back after such a pause, V8 runs a mark-compact every ~100 ms for as long as the process lives:
 * measured 200–233 µs of CPU per 64 KiB request against 120–139 with this flag (`bench/README.md`).
 * The price: after a burst the proxy keeps the memory it grew to (its heap is tens of MB).
 */
export const PROXY_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer']);
