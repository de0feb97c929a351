// WebGPU (TF.js's tfjs-backend-webgpu, vendor/tf-backend-webgpu.min.js) is offered only where it
// works: the browser has navigator.gpu, grants an adapter, and TF.js starts the backend and runs a
// kernel on it. Elsewhere the menus show it disabled with the reason, and a URL that asks for it
// falls back to the page's default backend with a one-line notice. No TF.js here: the training
// page's own thread never loads it (its check runs TF.js in a worker).

// requestAdapter answers at once where there is no GPU; this bounds a browser that never answers.
const ADAPTER_TIMEOUT_MS = 5000;

/**
 * Why WebGPU cannot be offered in this browser, or null where it can.
 * @param {() => Promise<boolean>} start starts TF.js's WebGPU backend and runs a kernel on it;
 *   called only once an adapter is granted
 * @returns {Promise<?string>} a short reason, as the menu shows it after "WebGPU: "
 */
export async function webgpuProblem(start) {
  if (!globalThis.navigator?.gpu) return "not available in this browser";
  let adapter = null;
  try {
    adapter = await Promise.race([navigator.gpu.requestAdapter(),
      new Promise((resolve) => setTimeout(() => resolve(null), ADAPTER_TIMEOUT_MS))]);
  } catch (error) {
    adapter = null;
  }
  if (!adapter) return "no GPU adapter in this browser";
  let started = false;
  try {
    started = await start();
  } catch (error) {
    started = false;
  }
  return started ? null : "TF.js cannot start it in this browser";
}

/**
 * Starts TF.js's WebGPU backend (the global `tf`, its bundle loaded) and checks one kernel's
 * result; the backend in use is then "webgpu" where it started, and the caller sets its own.
 * @returns {Promise<boolean>}
 */
export async function startTensorFlowWebgpu() {
  if (!(await tf.setBackend("webgpu"))) return false;
  await tf.ready();
  const sum = tf.add(tf.ones([4]), 1);
  const values = await sum.data();
  sum.dispose();
  return values.every((value) => value === 2);
}

/**
 * The menu's WebGPU option: enabled, or disabled with the reason as its text.
 * @param {HTMLSelectElement} menu a backend menu with an option "webgpu"
 * @param {?string} problem webgpuProblem's answer; "checking" while it is awaited
 */
export function showWebgpu(menu, problem) {
  const option = [...menu.options].find((entry) => entry.value === "webgpu");
  if (!option) return;
  option.disabled = problem !== null;
  option.textContent = problem === null ? "WebGPU" : `WebGPU: ${problem}`;
  option.title = problem === null ? "" : `WebGPU: ${problem}; the other backends work as before`;
}

/**
 * The backend a page's URL asks for (WASM by default); WASM, with `notice` told why, where it asks
 * for WebGPU that cannot run.
 * @param {URLSearchParams} params
 * @param {?string} problem webgpuProblem's answer
 * @param {(message: string) => void} notice
 */
export function askedBackend(params, problem, notice) {
  const asked = params.get("backend") ?? "wasm";
  if (asked !== "webgpu" || !problem) return asked;
  notice(webgpuFallbackNotice(problem, "WASM"));
  return "wasm";
}

/** The one-line notice for a URL that asked for WebGPU where it cannot run. */
export function webgpuFallbackNotice(problem, fallback) {
  return `WebGPU was asked for but cannot run here (${problem}): using ${fallback} instead.`;
}
