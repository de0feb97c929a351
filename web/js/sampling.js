// Latent noise from a seed, identical on every machine (mulberry32 and Box-Muller, so a grid can be
// shared by URL, and the same as trainer/sampling.py's latent_noise, so a seed draws the same images
// in `trainer sample`, the app and both pages), and running the generator and the classifier.

export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export function latentNoise(seed, count, size) {
  const random = mulberry32(seed);
  const values = new Float32Array(count * size);
  for (let index = 0; index < values.length; index += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    values[index] = radius * Math.cos(angle);
    if (index + 1 < values.length) values[index + 1] = radius * Math.sin(angle);
  }
  return values;
}

// One-hot rows for `labels`; a fractional `mix` blends label a into label b, for morphing.
export function labelRows(count, classes, label, mixLabel = label, mix = 0) {
  const rows = new Float32Array(count * classes);
  for (let row = 0; row < count; row += 1) {
    rows[row * classes + label] += 1 - mix;
    rows[row * classes + mixLabel] += mix;
  }
  return rows;
}

// Images in [0, 1] as a Float32Array (count x height x width x channels).
export async function generate(generator, manifest, latent, labels, count) {
  const [low, high] = manifest.output_range;
  const images = tf.tidy(() => {
    const feeds = { latent: tf.tensor2d(latent, [count, manifest.latent_dim]) };
    if (manifest.conditional) feeds.label = tf.tensor2d(labels, [count, manifest.label_names.length]);
    return generator.execute(feeds).sub(low).div(high - low).clipByValue(0, 1);
  });
  const data = await images.data();
  images.dispose();
  return data;
}

export async function classify(classifier, manifest, images, count) {
  const predictions = tf.tidy(() => classifier.execute(tf.tensor4d(images, [count, ...manifest.image_shape])).argMax(-1));
  const data = await predictions.data();
  predictions.dispose();
  return Array.from(data);
}
