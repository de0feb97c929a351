// The colour maths of trainer/models/colorize.py, for the page: Pillow's grey, YCbCr chroma and
// `with_luminance`, which joins chroma to a luminance without ever moving the luminance.

// ITU-R 601 luminance weights of red, green and blue (LUMA in trainer/models/colorize.py).
const [RED, GREEN, BLUE] = [0.299, 0.587, 0.114];

/**
 * Pillow's convert("L") of RGBA pixels, to the bit: the weights in 16-bit fixed point, rounded.
 * Alpha is ignored (the page composites transparency on white before this, as the CLI does).
 * @param {Uint8ClampedArray} rgba height x width x 4
 * @param {number} width
 * @param {number} height
 * @returns {{width: number, height: number, data: Uint8Array}} the grey plane (height x width)
 */
export function greyOf(rgba, width, height) {
  const data = new Uint8Array(width * height);
  for (let pixel = 0; pixel < data.length; pixel += 1) {
    const at = pixel * 4;
    data[pixel] = (rgba[at] * 19595 + rgba[at + 1] * 38470 + rgba[at + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width, height, data };
}

/**
 * `chroma_of`: (Cb, Cr) in [-1, 1] of the generator's RGB output in [-1, 1].
 * @param {Float32Array} rgb side x side x 3
 * @param {number} side
 * @returns {{cb: {width, height, data: Float32Array}, cr: {width, height, data: Float32Array}}}
 */
export function chromaOf(rgb, side) {
  const cb = new Float32Array(side * side);
  const cr = new Float32Array(side * side);
  for (let pixel = 0; pixel < cb.length; pixel += 1) {
    const [red, green, blue] = [rgb[pixel * 3], rgb[pixel * 3 + 1], rgb[pixel * 3 + 2]];
    const grey = RED * red + GREEN * green + BLUE * blue;
    cb[pixel] = (blue - grey) / (2 * (1 - BLUE));
    cr[pixel] = (red - grey) / (2 * (1 - RED));
  }
  return { cb: { width: side, height: side, data: cb }, cr: { width: side, height: side, data: cr } };
}

/**
 * One row of `with_luminance`, written as RGBA bytes: the grey pixel plus the colour offsets of
 * its chroma, scaled down (desaturated) where a channel would leave [-1, 1], since clipping would
 * change the luminance. Then `to_unit_range` and trainer/photos.py's rounding to bytes.
 * @param {Uint8Array} grey the row's luminance bytes (width)
 * @param {Float32Array} cb the row's Cb (width)
 * @param {Float32Array} cr the row's Cr (width)
 * @param {Uint8ClampedArray} out RGBA bytes (width x 4)
 * @param {number[]} range the model's output range, [-1, 1]
 */
export function joinRow(grey, cb, cr, out, [low, high]) {
  const step = (high - low) / 255;
  for (let x = 0; x < grey.length; x += 1) {
    const y = grey[x] * step + low; // to_model_range
    const blue = 2 * (1 - BLUE) * cb[x];
    const red = 2 * (1 - RED) * cr[x];
    const green = -(RED * red + BLUE * blue) / GREEN;
    // How far each channel may move before it leaves [-1, 1], as a share of its offset.
    const upward = 1 - y;
    const downward = 1 + y;
    const scale = Math.max(0, Math.min(1,
      (red > 0 ? upward : downward) / Math.max(Math.abs(red), 1e-6),
      (green > 0 ? upward : downward) / Math.max(Math.abs(green), 1e-6),
      (blue > 0 ? upward : downward) / Math.max(Math.abs(blue), 1e-6)));
    const at = x * 4;
    out[at] = Math.round(Math.min(1, Math.max(0, (y + scale * red - low) / (high - low))) * 255);
    out[at + 1] = Math.round(Math.min(1, Math.max(0, (y + scale * green - low) / (high - low))) * 255);
    out[at + 2] = Math.round(Math.min(1, Math.max(0, (y + scale * blue - low) / (high - low))) * 255);
    out[at + 3] = 255;
  }
}
