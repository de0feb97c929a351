// The yardsticks for web/train.html's speed, run in a Web Worker as the page trains: the plain
// TF.js loop of issue 26 (layers models, optimizer.minimize for D then G), the floor the
// backend's matrix products set for one step of the SJTU MLP CGAN, and the floor the
// convolutions set for one step of cdcgan-small.
const VENDOR = new URL("../web/vendor/", import.meta.url);
const BATCH = 150;

function buildPlain() {
  const latent = tf.input({ shape: [100] });
  const label = tf.input({ shape: [10] });
  let hidden = tf.layers.concatenate().apply([latent, label]);
  hidden = tf.layers.dense({ units: 128, activation: "relu" }).apply(hidden);
  const generator = tf.model({ inputs: [latent, label], outputs: tf.layers.dense({ units: 784, activation: "tanh" }).apply(hidden) });
  const image = tf.input({ shape: [784] });
  const imageLabel = tf.input({ shape: [10] });
  let features = tf.layers.concatenate().apply([image, imageLabel]);
  features = tf.layers.leakyReLU({ alpha: 0.2 }).apply(tf.layers.dense({ units: 128 }).apply(features));
  const discriminator = tf.model({ inputs: [image, imageLabel], outputs: tf.layers.dense({ units: 1 }).apply(features) });
  return { generator, discriminator };
}

async function plainLoop(steps) {
  const { generator, discriminator } = buildPlain();
  const dOptimizer = tf.train.adam(1e-3, 0.5);
  const gOptimizer = tf.train.adam(1e-3, 0.5);
  const images = tf.randomUniform([6000, 784], -1, 1);
  const labels = tf.oneHot(tf.randomUniform([6000], 0, 10, "int32"), 10);
  const step = () => tf.tidy(() => {
    const indices = tf.randomUniform([BATCH], 0, 6000, "int32");
    const real = tf.gather(images, indices);
    const realLabels = tf.gather(labels, indices);
    dOptimizer.minimize(() => {
      const fake = generator.apply([tf.randomNormal([BATCH, 100]), realLabels]);
      return tf.add(tf.mean(tf.softplus(tf.neg(discriminator.apply([real, realLabels])))),
        tf.mean(tf.softplus(discriminator.apply([fake, realLabels]))));
    }, false, discriminator.trainableWeights.map((weight) => weight.val));
    gOptimizer.minimize(() => {
      const fakeLabels = tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32"), 10);
      const fake = generator.apply([tf.randomNormal([BATCH, 100]), fakeLabels]);
      return tf.mean(tf.softplus(tf.neg(discriminator.apply([fake, fakeLabels]))));
    }, false, generator.trainableWeights.map((weight) => weight.val));
  });
  for (let index = 0; index < 3; index += 1) step();
  await generator.trainableWeights[0].val.data();
  const started = performance.now();
  for (let index = 0; index < steps; index += 1) step();
  await generator.trainableWeights[0].val.data();
  return (performance.now() - started) / steps;
}

// Every matrix product of one iteration of web/train.html (D step, then G step) at batch 150, as
// [rows, inner, columns]: the forward passes and the products of their gradients (none for D's
// input in its own step, which the page skips). 351 MFLOP in all.
const D_INPUT = 794;
const PRODUCTS = [
  [BATCH, 110, 128], [BATCH, 128, 784], // G forward for the D step
  [2 * BATCH, D_INPUT, 128], [2 * BATCH, 128, 1], [2 * BATCH, 1, 128], [128, 2 * BATCH, 1], [D_INPUT, 2 * BATCH, 128],
  [BATCH, 110, 128], [BATCH, 128, 784], [BATCH, D_INPUT, 128], [BATCH, 128, 1], // the G step's forward pass
  [BATCH, 1, 128], [128, BATCH, 1], [BATCH, 128, D_INPUT], [D_INPUT, BATCH, 128], // through D
  [BATCH, 784, 128], [128, BATCH, 784], [BATCH, 128, 110], [110, BATCH, 128], // through G
];

async function matmulFloor(repeats = 50) {
  let milliseconds = 0;
  let flops = 0;
  for (const [rows, inner, columns] of PRODUCTS) {
    const a = tf.randomNormal([rows, inner]);
    const b = tf.randomNormal([inner, columns]);
    for (let index = 0; index < 5; index += 1) tf.matMul(a, b).dispose();
    const started = performance.now();
    for (let index = 0; index < repeats; index += 1) tf.matMul(a, b).dispose();
    await tf.matMul(a, b).data();
    milliseconds += (performance.now() - started) / (repeats + 1);
    flops += 2 * rows * inner * columns;
    tf.dispose([a, b]);
  }
  return { milliseconds, megaflops: flops / 1e6, gigaflopsPerSecond: flops / milliseconds / 1e6 };
}

// Every convolution of one cdcgan-small iteration on MNIST (batch 64; D sees 128 images in its own
// step), as [x shape, filter shape, stride] with the kernels it needs: "f" the forward pass, "w" the
// filter's gradient, "x" the input's gradient. D step: G forward, D forward, D's filter gradients
// and the gradient into D's second convolution. G step: G forward, D forward, every gradient
// except D's filters'.
const CONVS = [
  // G's two upsamplings with their convolutions, each as one convolution at the lower resolution
  // with four outputs per channel (ops.js's upsampleConv)
  [[64, 7, 7, 32], [3, 3, 32, 64], 1, "ffwx"], [[64, 14, 14, 16], [3, 3, 16, 4], 1, "ffwx"],
  [[128, 28, 28, 1], [3, 3, 1, 16], 2, "fw"], [[64, 28, 28, 1], [3, 3, 1, 16], 2, "fx"], // D's first: D step, G step
  [[128, 14, 14, 16], [3, 3, 16, 32], 2, "fwx"], [[64, 14, 14, 16], [3, 3, 16, 32], 2, "fx"], // D's second
];

async function timed(run, repeats) {
  for (let index = 0; index < 3; index += 1) tf.dispose(run());
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const started = performance.now();
    let result;
    for (let index = 0; index < repeats; index += 1) {
      tf.dispose(result);
      result = run();
    }
    await result.data();
    tf.dispose(result);
    best = Math.min(best, (performance.now() - started) / repeats);
  }
  return best;
}

// The convolutions of a cdcgan-small iteration timed alone at their shapes, the best of three
// rounds: forward passes, and the gradients through the kernels the backend has (on WASM those
// of web/js/train/wasm-conv-grads.js, and TF.js's own Conv2DBackpropInput beside them).
async function convFloor(repeats = tf.getBackend() === "wasm" ? 10 : 2) {
  const kernels = { forward: 0, filterGradient: 0, inputGradient: 0, nativeInputGradient: 0 };
  let flops = 0;
  for (const [xShape, filterShape, stride, uses] of CONVS) {
    const x = tf.randomNormal(xShape);
    const filter = tf.randomNormal(filterShape);
    const dy = tf.randomNormal(tf.conv2d(x, filter, stride, "same").shape);
    const attrs = { strides: stride, pad: "same", dataFormat: "NHWC", dimRoundingMode: undefined };
    const perCall = {
      f: () => tf.conv2d(x, filter, stride, "same"),
      w: () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape }),
      x: () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, { ...attrs, inputShape: xShape }),
    };
    const names = { f: "forward", w: "filterGradient", x: "inputGradient" };
    const macs = dy.size * filterShape[0] * filterShape[1] * filterShape[2];
    for (const use of uses) {
      kernels[names[use]] += await timed(perCall[use], repeats);
      flops += 2 * macs;
      if (use === "x" && tf.getKernel("NativeConv2DBackpropInput", tf.getBackend())) {
        kernels.nativeInputGradient += await timed(() => tf.engine().runKernel("NativeConv2DBackpropInput", { dy, filter }, { ...attrs, inputShape: xShape }), repeats);
      }
    }
    tf.dispose([x, filter, dy]);
  }
  const milliseconds = kernels.forward + kernels.filterGradient + kernels.inputGradient;
  return { milliseconds, kernels, megaflops: flops / 1e6, gigaflopsPerSecond: flops / milliseconds / 1e6 };
}

self.onmessage = async ({ data: { backend, steps, threadsPerCore, floor = "matmul" } }) => {
  try {
    // As the training page does it (web/js/train/worker.js): twice the cores, so TF.js's WASM
    // backend, which takes half of hardwareConcurrency, uses one thread per core.
    if (threadsPerCore) Object.defineProperty(WorkerNavigator.prototype, "hardwareConcurrency", { get: () => 2 * threadsPerCore });
    await import(new URL("tf.min.js", VENDOR));
    await import(new URL("tf-backend-wasm.min.js", VENDOR));
    tf.wasm.setWasmPaths(VENDOR.href);
    if (threadsPerCore) tf.wasm.setThreadsCount(threadsPerCore);
    // TF.js's own input gradient, kept before the page's replaces it, to time them side by side.
    const native = tf.getKernel("Conv2DBackpropInput", "wasm");
    if (native) tf.registerKernel({ ...native, kernelName: "NativeConv2DBackpropInput" });
    (await import(new URL("../web/js/train/wasm-conv-grads.js", import.meta.url))).registerWasmConvGradients();
    await tf.setBackend(backend);
    await tf.ready();
    const result = { backend, threads: backend === "wasm" ? tf.wasm.getThreadsCount() : null };
    if (steps) result.plainMilliseconds = await plainLoop(steps);
    else result.floor = floor === "conv" ? await convFloor() : await matmulFloor();
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message });
  }
};
