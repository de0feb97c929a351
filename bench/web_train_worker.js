// The yardsticks for web/train.html's speed, run in a Web Worker as the page trains: the plain
// TF.js loop of issue 26 (layers models, optimizer.minimize for D then G) and the floor the
// backend's matrix products set for one step of the SJTU MLP CGAN.
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

self.onmessage = async ({ data: { backend, steps, threadsPerCore } }) => {
  try {
    // As the training page does it (web/js/train/worker.js): twice the cores, so TF.js's WASM
    // backend, which takes half of hardwareConcurrency, uses one thread per core.
    if (threadsPerCore) Object.defineProperty(WorkerNavigator.prototype, "hardwareConcurrency", { get: () => 2 * threadsPerCore });
    await import(new URL("tf.min.js", VENDOR));
    await import(new URL("tf-backend-wasm.min.js", VENDOR));
    tf.wasm.setWasmPaths(VENDOR.href);
    if (threadsPerCore) tf.wasm.setThreadsCount(threadsPerCore);
    await tf.setBackend(backend);
    await tf.ready();
    const result = { backend, threads: backend === "wasm" ? tf.wasm.getThreadsCount() : null };
    if (steps) result.plainMilliseconds = await plainLoop(steps);
    else result.floor = await matmulFloor();
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message });
  }
};
