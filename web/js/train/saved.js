// A saved training is checked whole before it is used: a crash while writing, an older page or a
// full disk can leave a record in IndexedDB that TF.js would refuse with a raw error, or worse,
// load. `savedProblem` needs no TensorFlow (the page runs it on every saved record as it lists
// them); `modelProblem` compares the weights with the networks the worker has just built.
import { FAMILIES } from "./networks.js";

/** The record format store.js writes (`record.version`). */
export const FORMAT = 1;
const CHECKSUM_KIND = "fnv1a32";
const CURVES = [["step", "dLoss", "gLoss", "dReal", "dFake"], ["accuracyStep", "accuracy"]];
const NETWORK = { d: "discriminator", g: "generator" };
const AVERAGE = "averaged generator";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isArrayBuffer = (value) => Object.prototype.toString.call(value) === "[object ArrayBuffer]";
const isTypedArray = (value) => ArrayBuffer.isView(value) && !(value instanceof DataView);
const whole = (value, least = 0) => Number.isInteger(value) && value >= least;
const isShape = (shape) => Array.isArray(shape) && shape.every((size) => whole(size));
const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);
const shown = (value) => (value === undefined ? "missing" : JSON.stringify(value));
const shapeText = (shape) => (shape.length ? shape.join(" × ") : "a scalar");

/** The date a record was saved at, as the page writes dates ("an unknown date" if it has none). */
export function savedDate(record) {
  const date = new Date(record?.savedAt);
  return Number.isNaN(date.getTime()) ? "an unknown date" : date.toLocaleString();
}

/** The one line that names a damaged save and its first problem. */
export function damagedLine(record, problem) {
  return `the saved training of ${savedDate(record)} is damaged: ${problem}`;
}

/** A saved training that cannot be continued; `key` names its record, which is left as it is. */
export class DamagedSave extends Error {
  constructor(record, problem) {
    super(damagedLine(record, problem));
    this.key = record?.key ?? null;
  }
}

function fnv1a(hash, bytes) {
  for (let index = 0; index < bytes.length; index += 1) hash = Math.imul(hash ^ bytes[index], 0x01000193);
  return hash;
}

const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/**
 * FNV-1a (32 bits) over every weight's bytes: the generator's, the discriminator's, both
 * optimizers', then the averaged generator's where the record has one (so records from before
 * the average keep their checksum). Cheap (a few ms for cgan), enough to tell a record changed
 * since it was written.
 * @returns {string} "fnv1a32:" and 8 hex digits
 */
export function weightChecksum(record) {
  let hash = fnv1a(0x811c9dc5, new Uint8Array(record.generator.weightData));
  for (const { data } of record.discriminator) hash = fnv1a(hash, bytesOf(data));
  for (const kind of ["d", "g"]) for (const { data } of record.optimizers[kind]) hash = fnv1a(hash, bytesOf(data));
  for (const { data } of record.average ?? []) hash = fnv1a(hash, bytesOf(data));
  return `${CHECKSUM_KIND}:${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

function optionsProblem(options) {
  if (!isObject(options)) return "its options are missing";
  if (!Object.hasOwn(FAMILIES, options.model)) return `its model is ${shown(options.model)}, not one this page trains`;
  if (typeof options.dataset !== "string" || !options.dataset) return `its data set is ${shown(options.dataset)}`;
  for (const name of ["batchSize", "dSteps", "gSteps"]) {
    if (!whole(options[name], 1)) return `its option ${name} is ${shown(options[name])}, not a whole number ≥ 1`;
  }
  if (!(Number.isFinite(options.learningRate) && options.learningRate > 0)) return `its learning rate is ${shown(options.learningRate)}`;
  // Saves from before the average have no averageDecay: they take the family's default.
  const decay = options.averageDecay;
  if (decay !== undefined && !(Number.isFinite(decay) && decay >= 0 && decay < 1)) return `its average decay is ${shown(decay)}, not in [0, 1)`;
  // Saves from before the options kept them have no latentDim or beta1 (store.js savedOptions).
  if (options.latentDim !== undefined && !whole(options.latentDim, 1)) return `its noise size is ${shown(options.latentDim)}`;
  if (options.beta1 !== undefined && !(options.beta1 >= 0 && options.beta1 < 1)) return `its beta1 is ${shown(options.beta1)}, not in [0, 1)`;
  return Number.isInteger(options.seed) ? null : `its seed is ${shown(options.seed)}`;
}

function progressProblem({ counts, position, curves }) {
  if (!isObject(counts)) return "its step counts are missing";
  if (!whole(counts.d) || !whole(counts.g)) return `its step counts are not whole numbers ≥ 0 (D ${shown(counts.d)}, G ${shown(counts.g)})`;
  if (!whole(position)) return `its data position is ${shown(position)}, not a whole number ≥ 0`;
  if (!isObject(curves)) return "its curves are missing";
  for (const names of CURVES) {
    const missing = names.find((name) => !Array.isArray(curves[name]));
    if (missing) return `its curve ${missing} is missing`;
    if (names.some((name) => curves[name].length !== curves[names[0]].length)) return `its curves ${names.join(", ")} differ in length`;
  }
  return null;
}

// The generator's weights, one buffer cut along its weight specs: [{ name, values }] or a problem.
function generatorWeights(generator) {
  if (!isObject(generator) || !isObject(generator.modelTopology) || !Array.isArray(generator.weightSpecs) || !isArrayBuffer(generator.weightData)) {
    return "its generator is missing or incomplete";
  }
  const weights = [];
  let offset = 0;
  for (const spec of generator.weightSpecs) {
    const name = `generator/${spec?.name}`;
    if (!isShape(spec?.shape) || spec.dtype !== "float32") return `weight ${name} has no float32 shape`;
    const expected = sizeOf(spec.shape);
    const available = Math.max(0, Math.floor((generator.weightData.byteLength - offset) / 4));
    if (available < expected) return `weight ${name} has ${available} values, ${expected} expected`;
    weights.push({ name, values: new Float32Array(generator.weightData, offset, expected) });
    offset += 4 * expected;
  }
  if (offset !== generator.weightData.byteLength) return `the generator's weights have ${generator.weightData.byteLength} bytes, ${offset} expected`;
  return weights;
}

// `{ shape, data }` entries (the discriminator's, an optimizer's) as [{ name, values }] or a problem.
function listedWeights(entries, prefix, missing) {
  if (!Array.isArray(entries) || !entries.length) return missing;
  const weights = [];
  for (const [index, entry] of entries.entries()) {
    const name = `${prefix}/${entry?.name ?? index}`;
    if (!isShape(entry?.shape) || !isTypedArray(entry.data)) return `weight ${name} has no shape or no values`;
    const expected = sizeOf(entry.shape);
    if (entry.data.length !== expected) return `weight ${name} has ${entry.data.length} values, ${expected} expected`;
    weights.push({ name, values: entry.data });
  }
  return weights;
}

function weightsProblem(record) {
  const parts = [generatorWeights(record.generator), listedWeights(record.discriminator, "discriminator", "its discriminator is missing")];
  if (!isObject(record.optimizers)) return "its optimizer state is missing";
  for (const kind of ["d", "g"]) {
    parts.push(listedWeights(record.optimizers[kind], `${NETWORK[kind]} optimizer`, `its ${NETWORK[kind]}'s optimizer state is missing`));
  }
  // The moving average of the generator's weights, saved while averaging is on.
  if (record.average !== undefined) parts.push(listedWeights(record.average, AVERAGE, `its ${AVERAGE} is empty`));
  const problem = parts.find((part) => typeof part === "string");
  if (problem) return problem;
  for (const { name, values } of parts.flat()) {
    const index = firstNonFinite(values);
    if (index >= 0) return `weight ${name} holds ${values[index]} at value ${index}: not a finite number`;
  }
  return null;
}

function firstNonFinite(values) {
  for (let index = 0; index < values.length; index += 1) if (!Number.isFinite(values[index])) return index;
  return -1;
}

// A training on your own images keeps them as Blobs: their sizes are checked, not read.
function dataProblem(data) {
  if (data === undefined) return null;
  if (!isObject(data) || !whole(data.count, 1) || !isShape(data.imageShape) || data.imageShape.length !== 3 ||
      !Array.isArray(data.labelNames) || !(data.images instanceof Blob) || !(data.labels instanceof Blob)) {
    return "its images are incomplete";
  }
  const expected = data.count * sizeOf(data.imageShape);
  if (data.images.size !== expected) return `its images have ${data.images.size} bytes, ${expected} expected`;
  return data.labels.size === data.count ? null : `its labels have ${data.labels.size} bytes, ${data.count} expected`;
}

function checksumProblem(record) {
  // Saves written before the checksum existed have none: they load when all else is valid.
  if (record.checksum === undefined) return null;
  const now = weightChecksum(record);
  return record.checksum === now ? null : `its weights do not match their checksum (${shown(record.checksum)} saved, "${now}" now)`;
}

/**
 * The first thing wrong with a saved record, or null when it can be continued as far as can be
 * told without the networks: its fields, each weight's values against its own shape, finite
 * values, sane counts, its checksum. Never throws.
 * @param {object} record as IndexedDB returns it
 * @returns {string | null} "its step counts are missing", "weight … has 101625 values, 101632 expected"…
 */
export function savedProblem(record) {
  try {
    if (!isObject(record)) return "it is not a record";
    if (record.version !== FORMAT) return `it is of format ${shown(record.version)}; this page reads format ${FORMAT}`;
    if (Number.isNaN(new Date(record.savedAt).getTime())) return "its date is missing";
    return optionsProblem(record.options) ?? progressProblem(record) ?? weightsProblem(record) ?? dataProblem(record.data) ??
      checksumProblem(record);
  } catch (error) {
    return `it cannot be read (${error.message})`;
  }
}

function shapesProblem(label, names, saved, built) {
  if (saved.length !== built.length) return `the ${label} has ${saved.length} weights, ${built.length} expected`;
  const index = saved.findIndex((shape, at) => shape.join() !== built[at].join());
  return index < 0 ? null : `weight ${names[index]} has shape ${shapeText(saved[index])}, ${shapeText(built[index])} expected`;
}

// Adam's state: its step count, then a first and a second moment per variable, in order; none
// at all before its first step.
function optimizerProblem(kind, entries, variables) {
  const label = `${NETWORK[kind]}'s optimizer state`;
  const count = 1 + 2 * variables.length;
  if (entries.length !== 1 && entries.length !== count) return `the ${label} has ${entries.length} entries, 1 or ${count} expected`;
  const built = [[], ...variables.map((variable) => variable.shape), ...variables.map((variable) => variable.shape)].slice(0, entries.length);
  return shapesProblem(label, entries.map(({ name }) => `${NETWORK[kind]} optimizer/${name}`), entries.map(({ shape }) => shape), built);
}

/**
 * What does not fit the networks `training` has just built from the record's options, or null.
 * Run after savedProblem found nothing.
 * @param {object} record
 * @param {import("./training.js").Training} training
 */
export function modelProblem(record, training) {
  const specs = record.generator.weightSpecs;
  return shapesProblem("generator", specs.map(({ name }) => `generator/${name}`), specs.map(({ shape }) => shape),
    training.generator.weights.map((weight) => weight.shape)) ??
    shapesProblem("discriminator", record.discriminator.map((_, index) => `discriminator/${index}`),
      record.discriminator.map(({ shape }) => shape), training.discriminator.variables.map((variable) => variable.shape)) ??
    optimizerProblem("d", record.optimizers.d, training.discriminator.variables) ??
    optimizerProblem("g", record.optimizers.g, training.generatorVariables) ??
    (record.average === undefined ? null : shapesProblem(AVERAGE, record.average.map((_, index) => `${AVERAGE}/${index}`),
      record.average.map(({ shape }) => shape), training.generator.weights.map((weight) => weight.shape)));
}
