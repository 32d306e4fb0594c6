// new SharedArray outside the init context: k6 throws.
import { SharedArray } from 'k6/data';

export default function () {
  new SharedArray('late', () => [1]);
}
