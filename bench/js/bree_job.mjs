// The file of every Bree job in bench/js/bree.mjs: runs in the worker thread Bree starts for
// one run, imports the job's built module and awaits its run(), then tells Bree it is done.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";

const mod = await import(pathToFileURL(workerData.module).href);
await (mod.run ?? mod.default)();
parentPort?.postMessage("done");
