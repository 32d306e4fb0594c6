// A module k6 does not have.
import fs from 'fs';

export default function () {
  fs.readFileSync('x');
}
