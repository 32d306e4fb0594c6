// open() outside the init context: k6 throws.
export default function () {
  open('./data.txt');
}
