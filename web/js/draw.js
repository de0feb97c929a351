// Drawing a batch of images as a grid on a canvas, with the classifier's verdict on each.

const SCALE = 3;
const GAP = 4;

export function drawGrid(canvas, images, shape, count, columns, verdicts = null) {
  const [height, width, channels] = shape;
  const rows = Math.ceil(count / columns);
  canvas.width = columns * (width * SCALE + GAP) + GAP;
  canvas.height = rows * (height * SCALE + GAP) + GAP;
  const context = canvas.getContext("2d");
  context.fillStyle = "#222";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const tile = context.createImageData(width, height);
  const scratch = document.createElement("canvas");
  scratch.width = width;
  scratch.height = height;
  context.imageSmoothingEnabled = false;
  for (let index = 0; index < count; index += 1) {
    for (let pixel = 0; pixel < width * height; pixel += 1) {
      for (let colour = 0; colour < 3; colour += 1) {
        const value = images[(index * width * height + pixel) * channels + (channels === 3 ? colour : 0)];
        tile.data[pixel * 4 + colour] = Math.round(value * 255);
      }
      tile.data[pixel * 4 + 3] = 255;
    }
    scratch.getContext("2d").putImageData(tile, 0, 0);
    const left = GAP + (index % columns) * (width * SCALE + GAP);
    const top = GAP + Math.floor(index / columns) * (height * SCALE + GAP);
    context.drawImage(scratch, left, top, width * SCALE, height * SCALE);
    if (verdicts) {
      context.fillStyle = verdicts[index] ? "#2ecc40" : "#ff4136";
      context.beginPath();
      context.arc(left + width * SCALE - 6, top + 6, 4, 0, 2 * Math.PI);
      context.fill();
    }
  }
}
