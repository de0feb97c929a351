// One GAN training in the browser: the batches, the D and G steps of trainer/steps.py, the means
// the page plots, and the state a save keeps. The loop that calls `iterate` lives in worker.js;
// nothing here touches the page.
import { family } from "./networks.js";
import { LOSSES, classLoss } from "./ops.js";
import { kerasAdam } from "./adam.js";
import { latentNoise, mulberry32 } from "../sampling.js";

// Batches are uploaded this many at a time: one copy from JavaScript per 50 steps, not per step,
// and real batches at most CHUNK_VALUES pixels at a time (50 MNIST batches of 150 are 5.9
// million; colour images of 32 x 32 would take four times the memory).
const CHUNK_STEPS = 50;
const CHUNK_VALUES = 6e6;
// A data set is unbalanced when its largest label has this many times its smallest's images, as
// the CLI's trainer/data.py says (MNIST 1.24, emoji 25): then each real batch draws its labels
// evenly.
const UNBALANCED_RATIO = 1.5;
// Samples per label in each label-accuracy check, as the CLI's eval draws a balanced set.
const ACCURACY_SAMPLES_PER_LABEL = 50;
const GRID_COLUMNS = 10; // as trainer/sampling.py's GRID_COLUMNS

// Stands in for a seed of 0, which TF.js's random ops read as no seed at all.
const UNSEEDED_ZERO = 0x6a09e667;

/**
 * The fixed-noise grid's inputs, laid out as trainer/sampling.py's grid_inputs: `columns` latent
 * vectors drawn from `seed`, reused on every row, and row r asks for label r, so that a column
 * shows one "style" across all labels. The page trains with seed 0, so its first row is what
 * index.html draws for seed 0.
 * @param {number} seed the training's seed
 * @param {number} classes labels, one row each
 * @param {number} latentDim
 * @param {number} columns
 * @returns {{latent: Float32Array, labels: Int32Array}} latent [classes * columns, latentDim] row
 *   by row, and the label of each cell [classes * columns]
 */
export function gridInputs(seed, classes, latentDim, columns = GRID_COLUMNS) {
  const noise = latentNoise(seed, columns, latentDim);
  const latent = new Float32Array(classes * noise.length);
  for (let row = 0; row < classes; row += 1) latent.set(noise, row * noise.length);
  const labels = Int32Array.from({ length: classes * columns }, (_, index) => Math.floor(index / columns));
  return { latent, labels };
}

export function defaultOptions(model) {
  const { batchSize, learningRate, dSteps, gSteps, averageDecay } = family(model).defaults;
  return { batchSize, learningRate, dSteps, gSteps, averageDecay };
}

/**
 * The decay of the generator's moving average after G step `step` (counted from 1), as the CLI's
 * TrainingState.update_average ramps it: min(decay, (1 + step) / (10 + step)), so that the first
 * steps do not drag the average back towards the random initial weights.
 * @param {number} decay the option, e.g. 0.99
 * @param {number} step G steps done, this one included
 */
export function averageDecayAt(decay, step) {
  return Math.min(decay, (1 + step) / (10 + step));
}

function labelCounts(data) {
  const counts = new Array(data.labelNames.length).fill(0);
  for (const label of data.labels) counts[label] += 1;
  return counts;
}

export function isUnbalanced(data) {
  const counts = labelCounts(data);
  return Math.max(...counts) > UNBALANCED_RATIO * Math.max(1, Math.min(...counts));
}

/** The line the page shows about how real batches draw their labels ("" for a balanced set). */
export function describeBalance(data) {
  if (!isUnbalanced(data)) return "";
  const counts = labelCounts(data);
  const largest = counts.indexOf(Math.max(...counts));
  const smallest = counts.indexOf(Math.min(...counts));
  const sizes = `${data.labelNames[largest]} ${counts[largest].toLocaleString("en-US")} … ` +
    `${data.labelNames[smallest]} ${counts[smallest].toLocaleString("en-US")} images`;
  return `The labels are unbalanced (${sizes}): each real batch draws its labels evenly, as the CLI does.`;
}

// Image indices sorted by label, where each label's run starts, and its length: "image m of
// label c" is members[starts[c] + m], as trainer/steps.py's class_index.
export function classIndex(data) {
  const sizes = labelCounts(data);
  const starts = sizes.map((_, label) => sizes.slice(0, label).reduce((a, b) => a + b, 0));
  const members = new Int32Array(data.count);
  const filled = [...starts];
  data.labels.forEach((label, image) => {
    members[filled[label]++] = image;
  });
  return { members, starts, sizes };
}

/**
 * The epoch's order of the training images, the same for a seed whenever it is asked for, so a
 * resumed training sees the batches it would have seen: a shuffle of the data set, or for an
 * unbalanced one (`balance`, classIndex's) as many draws, each a label drawn evenly and then one
 * of its images.
 * @returns {Int32Array} data.count image indices
 */
export function epochOrder(data, balance, seed, epoch) {
  const random = mulberry32(seed * 7919 + epoch);
  const order = new Int32Array(data.count).map((_, index) => index);
  if (balance) {
    const { members, starts, sizes } = balance;
    for (let index = 0; index < order.length; index += 1) {
      const label = Math.floor(random() * sizes.length);
      order[index] = members[starts[label] + Math.floor(random() * sizes[label])];
    }
    return order;
  }
  for (let index = order.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other], order[index]];
  }
  return order;
}

export class Training {
  // `options`: model, dataset, seed, batchSize, learningRate, dSteps, gSteps, averageDecay (0: off;
  // missing, as in saves from before it: the family's default);
  // `data`: what data.js loads (uint8 images and labels, shape and label names).
  constructor(options, data) {
    this.family = family(options.model);
    this.options = { ...options };
    this.options.averageDecay ??= this.family.defaults.averageDecay;
    this.data = data;
    this.options.batchSize = Math.min(this.options.batchSize, data.count);
    this.balance = isUnbalanced(data) ? classIndex(data) : null;
    this.classes = data.labelNames.length;
    this.pixels = data.imageShape.reduce((a, b) => a * b);
    // The noise size and Adam's beta1 kept in the options: a save goes on with the networks and
    // the optimizer it was made with, whatever the family's defaults have become since.
    this.options.latentDim ??= this.family.defaults.latentDim;
    this.options.beta1 ??= this.family.defaults.beta1;
    const { latentDim, beta1 } = this.options;
    this.latentDim = latentDim;
    this.generator = this.family.buildGenerator(latentDim, data.imageShape, this.classes);
    this.generate = this.family.generatorForward(this.generator);
    this.discriminator = this.family.buildDiscriminator(data.imageShape, this.classes);
    this.average = null; // the generator's moving average (a second layers model) while averageDecay is on
    this.setAveraging();
    this.dOptimizer = kerasAdam(options.learningRate, beta1);
    this.gOptimizer = kerasAdam(options.learningRate, beta1);
    this.counts = { d: 0, g: 0 }; // D and G steps done
    this.position = 0; // training images the discriminator has seen
    this.curves = { step: [], dLoss: [], gLoss: [], dReal: [], dFake: [], accuracyStep: [], accuracy: [] };
    this.chunks = {};
    this.pending = { d: null, dCount: 0, g: null, gCount: 0 };
  }

  get generatorVariables() {
    return this.generator.trainableWeights.map((weight) => weight.val);
  }

  // The generator that draws the grid, is judged, saved and downloaded: the moving average of the
  // trained one's weights when averageDecay is on (as the CLI's --average-decay samples and saves
  // it), else the trained one.
  get sampler() {
    return this.average ?? this.generator;
  }

  // Starts the average from the current weights when averaging is turned on, drops it when off.
  setAveraging() {
    if (this.options.averageDecay && !this.average) {
      this.average = this.family.buildGenerator(this.latentDim, this.data.imageShape, this.classes);
      this.resetAverage();
    } else if (!this.options.averageDecay && this.average) {
      this.average.dispose();
      this.average = null;
    }
  }

  /** The average set to the trained generator's weights (each variable shares its values: no copy). */
  resetAverage() {
    this.average.setWeights(this.generator.getWeights());
  }

  // average = decay * average + (1 - decay) * generator, every weight in one tidy: three kernels a
  // weight and no tensor kept (each assign replaces a variable's values). After every G step; the
  // CLI averages after every iteration, the same with the default single G step an iteration.
  updateAverage() {
    if (!this.average) return;
    const decay = averageDecayAt(this.options.averageDecay, this.counts.g);
    tf.tidy(() => {
      const keep = tf.scalar(decay);
      const take = tf.scalar(1 - decay);
      const current = this.generator.weights;
      this.average.weights.forEach((average, index) => {
        average.val.assign(tf.add(tf.mul(average.val, keep), tf.mul(current[index].val, take)));
      });
    });
  }

  get epoch() {
    return this.position / this.data.count;
  }

  // A batch larger than the data set could never be drawn: it is cut to the data set.
  setOptions(changes) {
    Object.assign(this.options, changes, { batchSize: Math.min(changes.batchSize ?? this.options.batchSize, this.data.count) });
    for (const optimizer of [this.dOptimizer, this.gOptimizer]) optimizer.learningRate = this.options.learningRate;
    this.setAveraging();
  }

  // One iteration as the CLI runs it: D steps on consecutive real batches, then G steps.
  iterate() {
    for (let step = 0; step < this.options.dSteps; step += 1) this.discriminatorStep();
    for (let step = 0; step < this.options.gSteps; step += 1) this.generatorStep();
  }

  discriminatorStep() {
    const { loss, classLossWeight } = this.family.defaults;
    const batch = this.options.batchSize;
    const stats = tf.tidy(() => {
      const { images, labels } = this.realBatch();
      const fake = this.generate(this.noise("d").latent, labels); // outside the tape: D's step only
      let logits;
      const cost = this.dOptimizer.minimize(() => {
        // Real and fake through D at once: half the kernel launches of two passes.
        const outputs = this.discriminator.forward(tf.concat([images, fake]), tf.concat([labels, labels]), { inputGradient: false });
        logits = tf.keep(outputs.logits);
        const [real, fakes] = tf.split(outputs.logits, 2);
        const total = LOSSES[loss].discriminator(real, fakes);
        // The class head learns from real images only, as in trainer/steps.py's TrainSteps._update.
        return classLossWeight ? tf.add(total, tf.mul(classLoss(outputs.classLogits.slice(0, batch), labels), classLossWeight)) : total;
      }, true, this.discriminator.variables);
      const [real, fakes] = tf.split(tf.sigmoid(logits), 2);
      tf.dispose(logits);
      return tf.stack([cost, tf.mean(real), tf.mean(fakes)]);
    });
    this.accumulate("d", stats);
  }

  generatorStep() {
    const { loss, classLossWeight } = this.family.defaults;
    const stats = tf.tidy(() => {
      // Fresh noise and fresh random labels, as in the SJTU report's generator step.
      const { latent, labels } = this.noise("g");
      const cost = this.gOptimizer.minimize(() => {
        const outputs = this.discriminator.forward(this.generate(latent, labels), labels);
        const total = LOSSES[loss].generator(outputs.logits);
        return classLossWeight ? tf.add(total, tf.mul(classLoss(outputs.classLogits, labels), classLossWeight)) : total;
      }, true, this.generatorVariables);
      return tf.reshape(cost, [1]);
    });
    this.accumulate("g", stats);
    this.updateAverage();
  }

  // Running sums stay on the backend between reads, so a step never waits for its results.
  accumulate(kind, stats) {
    const sum = this.pending[kind];
    this.pending[kind] = sum ? tf.add(sum, stats) : stats;
    if (sum) tf.dispose([sum, stats]);
    this.pending[`${kind}Count`] += 1;
    this.counts[kind] += 1;
  }

  // The means since the last read, appended to the curves; null when no step ran.
  async read() {
    const { d, dCount, g, gCount } = this.pending;
    if (!dCount && !gCount) return null;
    const [dValues, gValues] = await Promise.all([d ? d.data() : null, g ? g.data() : null]);
    tf.dispose([d, g]);
    this.pending = { d: null, dCount: 0, g: null, gCount: 0 };
    const last = (name) => this.curves[name].at(-1) ?? NaN;
    const point = {
      step: this.counts.g,
      dLoss: dValues ? dValues[0] / dCount : last("dLoss"),
      dReal: dValues ? dValues[1] / dCount : last("dReal"),
      dFake: dValues ? dValues[2] / dCount : last("dFake"),
      gLoss: gValues ? gValues[0] / gCount : last("gLoss"),
    };
    for (const [name, value] of Object.entries(point)) this.curves[name].push(value);
    return point;
  }

  // The next real batch, from the epoch's shuffled order; an epoch's last partial batch is
  // skipped, as the CLI's epochs drop it.
  realBatch() {
    const batch = this.options.batchSize;
    const count = this.data.count;
    if ((this.position % count) + batch > count) this.position += count - (this.position % count);
    const epoch = Math.floor(this.position / count);
    const offset = this.position % count;
    let chunk = this.chunks.real;
    if (!chunk || chunk.epoch !== epoch || chunk.batch !== batch || offset < chunk.start || offset + batch > chunk.end ||
        (offset - chunk.start) % batch) {
      disposeChunk(chunk);
      chunk = this.chunks.real = this.realChunk(epoch, offset);
    }
    this.position += batch;
    const index = (offset - chunk.start) / batch;
    return { images: chunk.images[index], labels: tf.oneHot(chunk.labels[index], this.classes) };
  }

  // The next 50 real batches (fewer for large images) as one tensor each: TF.js's WASM backend
  // slices in time that grows with the whole tensor (15 ms for a batch out of 50), so each batch
  // is its own tensor.
  realChunk(epoch, start) {
    const batch = this.options.batchSize;
    const order = this.order(epoch);
    const most = Math.max(1, Math.min(CHUNK_STEPS, Math.floor(CHUNK_VALUES / (batch * this.pixels))));
    const batches = Math.min(most, Math.floor((this.data.count - start) / batch));
    const images = [];
    const labels = [];
    for (let index = 0; index < batches; index += 1) {
      const pixels = new Float32Array(batch * this.pixels);
      const names = new Int32Array(batch);
      for (let row = 0; row < batch; row += 1) {
        const image = order[start + index * batch + row];
        const source = this.data.images.subarray(image * this.pixels, (image + 1) * this.pixels);
        const target = row * this.pixels;
        // Pixels to the generator's tanh range, [-1, 1], as trainer/sampling.py's to_model_range.
        for (let pixel = 0; pixel < this.pixels; pixel += 1) pixels[target + pixel] = source[pixel] / 127.5 - 1;
        names[row] = this.data.labels[image];
      }
      // Kept: a chunk is made inside a step's tidy, and outlives it.
      images.push(tf.keep(tf.tensor4d(pixels, [batch, ...this.data.imageShape])));
      labels.push(tf.keep(tf.tensor1d(names, "int32")));
    }
    return { epoch, batch, start, end: start + batches * batch, images, labels };
  }

  order(epoch) {
    if (this.orderCache?.epoch !== epoch) this.orderCache = { epoch, order: epochOrder(this.data, this.balance, this.options.seed, epoch) };
    return this.orderCache.order;
  }

  // Latent vectors and one-hot labels for the next D ("d") or G ("g") step, drawn 50 steps at a
  // time from a seed that depends only on the step, so a resumed training draws the same.
  noise(kind) {
    const batch = this.options.batchSize;
    const step = this.counts[kind];
    const index = Math.floor(step / CHUNK_STEPS);
    let chunk = this.chunks[kind];
    if (!chunk || chunk.index !== index || chunk.batch !== batch) {
      disposeChunk(chunk);
      // One tensor a step, as for the real batches (a slice of one would cost as much as all).
      // TF.js takes a seed of 0 for "no seed" (a fresh random draw), so 0 is mapped to another.
      const seed = (row, salt) => (((this.options.seed * 1000003) ^ ((index * CHUNK_STEPS + row) * 4 + salt)) >>> 0) || UNSEEDED_ZERO;
      const salt = kind === "g" ? 2 : 0;
      chunk = this.chunks[kind] = {
        index, batch,
        latent: Array.from({ length: CHUNK_STEPS }, (_, row) => tf.keep(tf.randomNormal([batch, this.latentDim], 0, 1, "float32", seed(row, salt)))),
        // D's fakes take the real batch's labels; only G's steps draw labels of their own.
        labels: kind === "g" ? Array.from({ length: CHUNK_STEPS }, (_, row) => tf.keep(tf.randomUniform([batch], 0, this.classes, "int32", seed(row, salt + 1)))) : [],
      };
    }
    const row = step % CHUNK_STEPS;
    return { latent: chunk.latent[row], labels: kind === "g" ? tf.oneHot(chunk.labels[row], this.classes) : null };
  }

  // Images in [0, 1] for `latent` (Float32Array) and a label per sample, from the sampler.
  async sample(latent, labels) {
    const images = tf.tidy(() => {
      const oneHot = tf.oneHot(tf.tensor1d(labels, "int32"), this.classes);
      const output = this.sampler.predict([tf.tensor2d(latent, [labels.length, this.latentDim]), oneHot]);
      return tf.clipByValue(tf.div(tf.add(output, 1), 2), 0, 1);
    });
    const data = await images.data();
    images.dispose();
    return data;
  }

  // The fixed-noise grid: one row per label, `columns` samples each, as gridInputs lays it out.
  async grid(columns = GRID_COLUMNS) {
    const { latent, labels } = gridInputs(this.options.seed, this.classes, this.latentDim, columns);
    return this.sample(latent, labels);
  }

  // The share of fresh samples the classifier names as the label they were drawn for.
  async labelAccuracy(classifier) {
    const labels = Int32Array.from({ length: this.classes * ACCURACY_SAMPLES_PER_LABEL }, (_, index) => index % this.classes);
    const images = await this.sample(latentNoise(1 + this.curves.accuracy.length, labels.length, this.latentDim), labels);
    const predicted = tf.tidy(() => classifier.execute(tf.tensor4d(images, [labels.length, ...this.data.imageShape])).argMax(-1));
    const names = await predicted.data();
    predicted.dispose();
    const accuracy = names.reduce((agreed, name, index) => agreed + (name === labels[index]), 0) / labels.length;
    this.curves.accuracyStep.push(this.counts.g);
    this.curves.accuracy.push(accuracy);
    return accuracy;
  }

  dispose() {
    for (const chunk of Object.values(this.chunks)) disposeChunk(chunk);
    tf.dispose([this.pending.d, this.pending.g, ...this.discriminator.variables]);
    this.generator.dispose();
    this.average?.dispose();
    this.dOptimizer.dispose();
    this.gOptimizer.dispose();
  }
}

function disposeChunk(chunk) {
  if (chunk) tf.dispose(Object.values(chunk).filter(Array.isArray).flat());
}

