// Runs LiveSeats (the browser module) against a real server, for the Go
// end-to-end test server/TestWSBrowserModule. Node 20 needs
// --experimental-websocket. Usage:
//   node --experimental-websocket web/e2e/live_client.mjs BASE EVENT DROP_RATE
// It drops DROP_RATE of the socket's messages at random and prints the
// statuses as a JSON line whenever they change and every 100 ms.
import { LiveSeats } from '../static/js/seatsync.js';

const [base, eventId, dropRate] = process.argv.slice(2);

// A WebSocket that loses messages, like a flaky network would.
class LossyWebSocket extends WebSocket {
  set onmessage(fn) {
    super.onmessage = (ev) => {
      if (Math.random() < Number(dropRate)) return;
      fn(ev);
    };
  }
}

const live = new LiveSeats({
  eventId,
  base,
  url: base.replace(/^http/, 'ws') + '/ws',
  WebSocket: LossyWebSocket,
  catchUpGraceMs: 50,
  onStatus: (s) => console.error(`status: ${s}`),
});
let last = '';
const report = () => {
  const s = live.sync.statuses ? live.sync.statuses.join('') : '';
  console.log(JSON.stringify({ statuses: s }));
  last = s;
};
live.onChange = () => { if ((live.sync.statuses ?? []).join('') !== last) report(); };
setInterval(report, 100);
live.start();
