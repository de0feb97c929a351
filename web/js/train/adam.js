// Adam as Keras computes it, which the CLI trains with (trainer/state.py). TF.js's AdamOptimizer
// adds epsilon to the bias-corrected root, sqrt(v / (1 - beta2^t)); Keras adds it to the raw
// sqrt(v), which is the same as adding epsilon / sqrt(1 - beta2^t) to the corrected root: 32 times
// TF.js's epsilon at the first step, falling to it as t grows. Gradients below a few millionths
// thereby take the smaller steps they take in the CLI (up to a whole learning rate apart at the
// first step otherwise, tests/test_page_parity.py).

/**
 * tf.train.adam(learningRate, beta1), its epsilon set before each update as Keras places it.
 * Saves and restores as TF.js's own (getWeights, setWeights: the step count comes back too).
 * @param {number} learningRate
 * @param {number} beta1
 * @returns {tf.AdamOptimizer}
 */
export function kerasAdam(learningRate, beta1) {
  const optimizer = tf.train.adam(learningRate, beta1);
  const epsilon = optimizer.epsilon; // the backend's: 1e-7 as Keras's, 1e-4 on a float16 WebGL
  const applyGradients = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (gradients) => {
    const step = optimizer.iterations + 1;
    optimizer.epsilon = epsilon / Math.sqrt(1 - optimizer.beta2 ** step);
    applyGradients(gradients);
  };
  return optimizer;
}
