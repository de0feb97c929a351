"""web/js/train/wasm-conv-grads.js in Debian's chromium: the convolution gradients it registers on
TF.js's WASM backend (Conv2DBackpropFilter, which the backend lacks, and a faster
Conv2DBackpropInput) agree with the CPU backend's, on cdcgan-small's shapes and a few odd ones."""

import json

import pytest

import test_train_page

# test_train_page's fixtures, a browser and web/ served, one of each for this module too.
chromium, site, pages_ready = test_train_page.chromium, test_train_page.site, test_train_page.pages_ready

# [x shape, filter shape, strides, padding]: cdcgan-small's convolutions on MNIST (G's two after
# the upsamplings, stride 1; D's two, stride 2) and on 32 x 32 colour images, then odd sizes,
# uneven strides, "valid" and explicit padding.
CASES = [
    [[3, 14, 14, 32], [3, 3, 32, 16], 1, "same"], [[3, 28, 28, 16], [3, 3, 16, 1], 1, "same"],
    [[3, 28, 28, 1], [3, 3, 1, 16], 2, "same"], [[3, 14, 14, 16], [3, 3, 16, 32], 2, "same"],
    [[2, 32, 32, 16], [3, 3, 16, 3], 1, "same"], [[2, 32, 32, 3], [3, 3, 3, 16], 2, "same"],
    [[2, 9, 7, 2], [3, 3, 2, 5], 2, "same"], [[2, 9, 7, 2], [5, 3, 2, 5], 1, "same"],
    [[2, 9, 8, 2], [3, 3, 2, 5], 2, "valid"], [[2, 10, 11, 3], [4, 2, 3, 2], [2, 3], "valid"],
    [[2, 10, 11, 3], [4, 4, 3, 2], 3, "same"], [[2, 6, 6, 2], [3, 3, 2, 2], 1, [[0, 0], [2, 0], [1, 2], [0, 0]]],
]

CHECK = """async (cases) => {
  tf.wasm.setWasmPaths(new URL("vendor/", location.href).href);
  const { registerWasmConvGradients } = await import(new URL("js/train/wasm-conv-grads.js", location.href).href);
  await tf.setBackend("wasm");
  registerWasmConvGradients();
  const results = [];
  for (const [xShape, filterShape, strides, pad] of cases) {
    const values = [xShape, filterShape].map((shape, seed) => tf.randomUniform(shape, -1, 1, "float32", seed).arraySync());
    const gradients = async (backend) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const [x, filter] = values.map((value) => tf.tensor(value));
      const weights = tf.tidy(() => tf.randomUniform(tf.conv2d(x, filter, strides, pad).shape, -1, 1, "float32", 2));
      const grads = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a, b, strides, pad), weights)))([x, filter]);
      const data = await Promise.all(grads.map((gradient) => gradient.data()));
      tf.dispose([x, filter, weights, ...grads]);
      return { data, leaked: tf.memory().numTensors - before };
    };
    const cpu = await gradients("cpu");
    const wasm = await gradients("wasm");
    // The largest difference as a share of the largest CPU value, for dx then dW.
    const error = (index) => cpu.data[index].reduce((worst, value, at) => Math.max(worst, Math.abs(value - wasm.data[index][at])), 0) /
      cpu.data[index].reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
    results.push({ input: error(0), filter: error(1), leaked: wasm.leaked });
  }
  await tf.setBackend("wasm");
  const ours = tf.getKernel("Conv2DBackpropFilter", "wasm") && tf.getKernel("Conv2DBackpropInput", "wasm");
  return { results, registered: Boolean(ours) };
}"""


def test_the_wasm_convolution_gradients_match_the_cpu_backend(chromium, site):
    page = chromium.new_page()
    page.goto(f"{site}/train.html")  # any page of the site: its origin, isolation and vendor/
    for script in ("tf.min.js", "tf-backend-wasm.min.js"):
        page.add_script_tag(url=f"{site}/vendor/{script}")
    # The backend has no filter gradient of its own: without the module a convolution cannot learn.
    assert page.evaluate("tf.getKernel('Conv2DBackpropFilter', 'wasm')") is None
    checked = page.evaluate(CHECK, CASES)
    assert checked["registered"]
    for case, result in zip(CASES, checked["results"]):
        assert result["input"] < 1e-4 and result["filter"] < 1e-4, f"{json.dumps(case)}: {result}"
        assert result["leaked"] == 0, f"{json.dumps(case)} leaves {result['leaked']} tensors"
    page.close()


GENERATOR = """async ([backend, shape]) => {
  tf.wasm.setWasmPaths(new URL("vendor/", location.href).href);
  const { registerWasmConvGradients } = await import(new URL("js/train/wasm-conv-grads.js", location.href).href);
  const { family } = await import(new URL("js/train/networks.js", location.href).href);
  registerWasmConvGradients();
  await tf.setBackend(backend);
  const small = family("cdcgan-small");
  const generator = small.buildGenerator(64, shape, 10);
  const fast = small.generatorForward(generator);
  const latent = tf.randomNormal([6, 64], 0, 1, "float32", 1);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 9], "int32"), 10);
  const weights = tf.randomNormal([6, ...shape], 0, 1, "float32", 2);
  const variables = generator.trainableWeights.map((weight) => weight.val);
  const gradients = (forward) => Object.values(tf.variableGrads(() => tf.sum(tf.mul(forward(latent, labels), weights)), variables).grads);
  const relative = (a, b) => {
    const [x, y] = [a.dataSync(), b.dataSync()];
    return x.reduce((worst, value, at) => Math.max(worst, Math.abs(value - y[at])), 0) / y.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
  };
  const output = relative(fast(latent, labels), generator.predict([latent, labels]));
  const layers = gradients((l, c) => generator.apply([l, c], { training: true }));
  return { output, gradients: gradients(fast).map((gradient, index) => relative(gradient, layers[index])) };
}"""


@pytest.mark.parametrize("backend", ["wasm", "webgl"])
@pytest.mark.parametrize("shape", [[28, 28, 1], [32, 32, 3]])
def test_the_conv_generators_fast_forward_is_its_layers_model(chromium, site, backend, shape):
    # What the page trains (each upsampling and convolution as one convolution) is the function
    # the layers model saves, and has its gradients. (Not compared on the CPU backend: TF.js
    # 4.22's CPU ResizeNearestNeighborGrad is wrong for more than one image or channel.)
    page = chromium.new_page()
    page.goto(f"{site}/train.html")
    for script in ("tf.min.js", "tf-backend-wasm.min.js"):
        page.add_script_tag(url=f"{site}/vendor/{script}")
    checked = page.evaluate(GENERATOR, [backend, shape])
    assert checked["output"] < 1e-5
    assert max(checked["gradients"]) < 1e-4, checked
    page.close()
