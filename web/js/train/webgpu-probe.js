// A worker of its own that answers whether TF.js's WebGPU backend starts and computes in a worker,
// where the training runs (page.js asks it once, where the browser grants an adapter; the page's
// own thread never loads TF.js). Posts { ready } and is then terminated.
import { startTensorFlowWebgpu } from "../webgpu.js";

const VENDOR = new URL("../../vendor/", import.meta.url);

try {
  await import(new URL("tf.min.js", VENDOR));
  await import(new URL("tf-backend-webgpu.min.js", VENDOR));
  self.postMessage({ ready: await startTensorFlowWebgpu() });
} catch (error) {
  self.postMessage({ ready: false, message: error.message ?? String(error) });
}
