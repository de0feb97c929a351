// Pillow's resizing, ported so that the page gives the generator the very pixels `trainer
// colorize` gives it (trainer/photos.py): the grey photo squeezed to the model's square with
// Image.resize(LANCZOS, reducing_gap=3.0), and the predicted chroma (float32) scaled back up with
// Image.resize(BICUBIC). A plain canvas drawImage resizes differently, and the colours follow the
// input. Ported from Pillow 13's src/libImaging/Resample.c and Reduce.c: same kernels, same
// windows, same 22-bit fixed-point sums and clipping for 8-bit images, double sums stored as
// float32 for float images.
//
// A "plane" is one channel: {width, height, data}, data a Uint8Array (Pillow's "L") or a
// Float32Array ("F") of height x width values, row by row.

const PRECISION_BITS = 32 - 8 - 2; // Pillow's: two spare bits for the kernels' negative lobes
const ONE = 2 ** PRECISION_BITS;

function sinc(x) {
  if (x === 0) return 1;
  const angle = x * Math.PI;
  return Math.sin(angle) / angle;
}

/** Pillow's LANCZOS: a sinc truncated by a wider sinc, 3 pixels each side. */
export const LANCZOS = { support: 3, kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) };

/** Pillow's BICUBIC: Keys' cubic convolution with a = -0.5, 2 pixels each side. */
export const BICUBIC = {
  support: 2,
  kernel: (x) => {
    const a = -0.5;
    const d = Math.abs(x);
    if (d < 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    if (d < 2) return (((d - 5) * d + 8) * d - 4) * a;
    return 0;
  },
};

/**
 * Pillow's precompute_coeffs: for each output pixel along one axis, the first input pixel it
 * reads, how many, and their weights (which sum to 1; in fixed point for 8-bit images).
 * `start` and `end` are the box's edges on this axis.
 * @returns {{bounds: Int32Array, weights: Float64Array, size: number}} size: weights per pixel
 */
function axis(inSize, start, end, outSize, filter, eightBit) {
  const scale = Math.fround(end - start) / outSize; // the box is float32 in Pillow
  const filterScale = Math.max(scale, 1); // widened when shrinking, so every input pixel counts
  const inverse = 1 / filterScale;
  const support = filter.support * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * size);
  for (let out = 0; out < outSize; out += 1) {
    const center = start + (out + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - first;
    let total = 0;
    for (let k = 0; k < count; k += 1) {
      const weight = filter.kernel((k + first - center + 0.5) * inverse);
      weights[out * size + k] = weight;
      total += weight;
    }
    if (total !== 0) for (let k = 0; k < count; k += 1) weights[out * size + k] /= total;
    bounds[out * 2] = first;
    bounds[out * 2 + 1] = count;
  }
  // 8-bit images are summed in fixed point: each weight rounded away from zero to 22 bits.
  if (eightBit) weights.forEach((weight, k) => { weights[k] = Math.trunc(weight * ONE + (weight < 0 ? -0.5 : 0.5)); });
  return { bounds, weights, size };
}

// A sum of an 8-bit image starts at half a unit and is shifted back and clipped to 0..255; a
// float one is stored as is (into a Float32Array, which rounds it to float32 as Pillow does).
function store(sum, eightBit) {
  return eightBit ? Math.min(255, Math.max(0, Math.floor(sum / ONE))) : sum;
}

function horizontalRow(line, across, out, eightBit) {
  const { bounds, weights, size } = across;
  const initial = eightBit ? ONE / 2 : 0;
  for (let x = 0; x < out.length; x += 1) {
    const first = bounds[2 * x];
    const count = bounds[2 * x + 1];
    let sum = initial;
    for (let k = 0; k < count; k += 1) sum += line[first + k] * weights[x * size + k];
    out[x] = store(sum, eightBit);
  }
}

// Output row `row` from `source` (its rows numbered from `offset`), `out.length` columns. The
// rows are summed one after another, each pixel in Pillow's order, for a row-by-row memory walk.
function verticalRow(source, offset, down, row, out, eightBit, sums) {
  const { bounds, weights, size } = down;
  const { data, width } = source;
  const first = bounds[2 * row] - offset;
  const count = bounds[2 * row + 1];
  sums.fill(eightBit ? ONE / 2 : 0);
  for (let k = 0; k < count; k += 1) {
    const weight = weights[row * size + k];
    const start = (first + k) * width;
    for (let x = 0; x < out.length; x += 1) sums[x] += data[start + x] * weight;
  }
  for (let x = 0; x < out.length; x += 1) out[x] = store(sums[x], eightBit);
}

/**
 * A resizer that computes output rows one at a time, so that a large photo's full-size chroma is
 * never held whole: Pillow 13's ImagingResampleInner, which resizes across first unless the
 * height shrinks by more than twice as many pixels as the width.
 * @param {{width: number, height: number, data: Uint8Array|Float32Array}} plane
 * @param {number} width output width
 * @param {number} height output height
 * @param {{support: number, kernel: function(number): number}} filter LANCZOS or BICUBIC
 * @param {number[]} box [x0, y0, x1, y1] of the input, as Image.resize's `box`
 * @returns {function(number, Uint8Array|Float32Array): void} (row, out): writes output row `row`
 *   (width values) into `out`
 */
export function rowResizer(plane, width, height, filter, box = [0, 0, plane.width, plane.height]) {
  const [x0, y0, x1, y1] = box.map(Math.fround);
  const eightBit = !(plane.data instanceof Float32Array);
  const sums = new Float64Array(Math.max(width, plane.width)); // the vertical pass's running sums
  const needAcross = width !== plane.width || x0 !== 0 || x1 !== width;
  const needDown = height !== plane.height || y0 !== 0 || y1 !== height;
  const across = needAcross ? axis(plane.width, x0, x1, width, filter, eightBit) : null;
  const down = axis(plane.height, y0, y1, height, filter, eightBit); // its bounds are needed either way
  const dropped = plane.height - height;
  if (dropped > 0 && dropped > (plane.width - width) * 2) { // down first: height shrinks, fewer rows across
    const between = new plane.data.constructor(plane.width);
    return (row, out) => {
      verticalRow(plane, 0, down, row, needAcross ? between : out, eightBit, sums);
      if (needAcross) horizontalRow(between, across, out, eightBit);
    };
  }
  let source = plane;
  let offset = 0;
  if (needAcross) { // only the rows the vertical pass reads
    offset = down.bounds[0];
    const last = down.bounds[2 * height - 2] + down.bounds[2 * height - 1];
    source = { width, height: last - offset, data: new plane.data.constructor(width * (last - offset)) };
    for (let y = offset; y < last; y += 1) {
      const line = plane.data.subarray(y * plane.width, (y + 1) * plane.width);
      horizontalRow(line, across, source.data.subarray((y - offset) * width, (y - offset + 1) * width), eightBit);
    }
  }
  if (!needDown) return (row, out) => out.set(source.data.subarray((row - offset) * width, (row - offset + 1) * width));
  return (row, out) => verticalRow(source, offset, down, row, out, eightBit, sums);
}

/** The whole resized plane (see rowResizer). */
export function resize(plane, width, height, filter, box) {
  const data = new plane.data.constructor(width * height);
  const resizeRow = rowResizer(plane, width, height, filter, box);
  for (let row = 0; row < height; row += 1) resizeRow(row, data.subarray(row * width, (row + 1) * width));
  return { width, height, data };
}

/**
 * Pillow's Image.reduce of an 8-bit plane: the mean of each factorX x factorY block (the last
 * row and column of blocks may be smaller), rounded by Pillow's 24-bit reciprocal.
 */
export function reduce(plane, factorX, factorY) {
  const width = Math.ceil(plane.width / factorX);
  const height = Math.ceil(plane.height / factorY);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const rows = Math.min(factorY, plane.height - y * factorY);
    for (let x = 0; x < width; x += 1) {
      const columns = Math.min(factorX, plane.width - x * factorX);
      const count = rows * columns;
      let sum = Math.floor(count / 2);
      for (let dy = 0; dy < rows; dy += 1) {
        const start = (y * factorY + dy) * plane.width + x * factorX;
        for (let dx = 0; dx < columns; dx += 1) sum += plane.data[start + dx];
      }
      const multiplier = Math.trunc(Math.fround(2 ** 32 / (256 * count))); // float32 in Pillow
      data[y * width + x] = Math.floor((sum * multiplier) / 2 ** 24);
    }
  }
  return { width, height, data };
}

/**
 * Image.resize((side, side), LANCZOS, reducing_gap=3.0) of an 8-bit plane, as trainer/photos.py
 * squeezes a photo's grey to the generator's square: a photo more than 6 times the square's side
 * is first box-averaged by a whole factor (Image.reduce), then resampled from the exact box.
 */
export function squeezeLikePillow(plane, side, reducingGap = 3.0) {
  if (plane.width === side && plane.height === side) return { ...plane, data: plane.data.slice() };
  const factorX = Math.trunc(plane.width / side / reducingGap) || 1;
  const factorY = Math.trunc(plane.height / side / reducingGap) || 1;
  if (factorX === 1 && factorY === 1) return resize(plane, side, side, LANCZOS);
  // Pillow's "safe box" for the whole image is the whole image, so all of it is reduced.
  const reduced = reduce(plane, factorX, factorY);
  return resize(reduced, side, side, LANCZOS, [0, 0, plane.width / factorX, plane.height / factorY]);
}
