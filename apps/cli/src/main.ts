/** Entry point of the `jetplane` executable (`bin/jetplane.js`). */
import { run } from './program.js';

await run(process.argv);
