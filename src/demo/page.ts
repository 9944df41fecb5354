/** The demo page shell; demo/app.ts (bundled at /demo/app.js) fills it in. */
export function demoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Expediter live demo</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d232a; background: #eef1f4; }
  body { margin: 0; }
  [hidden] { display: none !important; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.25rem; background: #1d232a; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  #status { font-size: .85rem; padding: .2rem .6rem; border-radius: 1rem; background: #7a828b; }
  #status[data-state="live"] { background: #2e9d5b; }
  #status[data-state="reconnecting"] { background: #c98a14; }
  #status[data-state="error"] { background: #c0392b; }
  main { display: grid; grid-template-columns: minmax(16rem, 1fr) 2fr minmax(15rem, 1fr); gap: 1.25rem; padding: 1.25rem; align-items: start; }
  section > h2 { font-size: 1rem; margin: 0 0 .75rem; }
  button { font: inherit; cursor: pointer; }
  #tickets { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: .75rem; }
  .ticket { background: #fff; border-radius: .5rem; border-top: .35rem solid #3b82c4; padding: .6rem .75rem; box-shadow: 0 1px 2px #0002; }
  .ticket.late { border-top-color: #c0392b; }
  .ticket.rush { border-top-color: #c98a14; }
  .ticket .head { display: flex; gap: .5rem; align-items: baseline; margin-bottom: .4rem; }
  .ticket .table { font-size: 1.6rem; font-weight: 700; }
  .ticket .channel { font-size: 1.1rem; font-weight: 700; color: #555; }
  .ticket .number { color: #7a828b; }
  .ticket .clock { margin-left: auto; font-variant-numeric: tabular-nums; }
  .ticket .station { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: #7a828b; }
  .ticket ul { margin: 0 0 .6rem; padding: 0; list-style: none; }
  .ticket li { padding: .2rem 0; font-size: 1.05rem; }
  .ticket .notes { display: inline-block; margin-top: .15rem; padding: .05rem .4rem; border-radius: .25rem; background: #fff3bf; color: #7a4d00; font-weight: 600; }
  .ticket button { width: 100%; padding: .4rem; border: 0; border-radius: .3rem; background: #1d232a; color: #fff; }
  .empty { color: #7a828b; }
  #metrics { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; margin-bottom: 1rem; }
  .metric { background: #fff; border-radius: .5rem; padding: .6rem .75rem; }
  .metric span { display: block; font-size: .75rem; color: #7a828b; }
  .metric strong { font-size: 1.4rem; }
  #feed, #pos-orders { list-style: none; margin: 0; padding: 0; font-size: .85rem; }
  #feed li, #pos-orders li { background: #fff; border-radius: .3rem; padding: .35rem .6rem; margin-bottom: .3rem; }
  #pos-orders li { display: flex; flex-wrap: wrap; gap: .3rem .5rem; align-items: center; }
  #pos-orders li span { flex: 1; }
  #pos-form { display: grid; gap: .4rem; background: #fff; border-radius: .5rem; padding: .75rem; margin-bottom: 1rem; }
  .pos-line { display: grid; grid-template-columns: 1fr 3.5rem; gap: .3rem; align-items: center; }
  .pos-line input[type="text"] { grid-column: 1 / -1; }
  .pos-line small { color: #7a828b; margin-left: .3rem; }
  #pos-table { width: 6rem; }
  #pos-form button[type="submit"] { padding: .45rem; border: 0; border-radius: .3rem; background: #2e9d5b; color: #fff; }
  form.sign-in { max-width: 36rem; margin: 3rem auto; display: grid; gap: .6rem; }
  textarea { min-height: 6rem; font-family: monospace; }
  #error { color: #c0392b; padding: 0 1.25rem; }
</style>
</head>
<body>
<header><h1>Expediter · <span id="store"></span></h1><span id="status" data-state="connecting">connecting</span></header>
<p id="error" hidden></p>
<form id="demo-sign-in-form" class="sign-in" hidden>
  <label for="demo-user">Sign in as a demo user (development only):</label>
  <select id="demo-user"></select>
  <button type="submit">Open the demo</button>
</form>
<form id="token-form" class="sign-in" hidden>
  <label for="token">Or paste a token (<code>npm run -s token -- acme-manager</code>):</label>
  <textarea id="token" required></textarea>
  <button type="submit">Open the demo</button>
</form>
<main id="app" hidden>
  <section id="pos">
    <h2>Point of sale</h2>
    <form id="pos-form">
      <div id="pos-products"></div>
      <label>Table <input id="pos-table" type="number" min="1" max="999" placeholder="counter"></label>
      <button type="submit">Place order</button>
    </form>
    <h2>Open orders</h2>
    <ul id="pos-orders"></ul>
  </section>
  <section>
    <h2>Kitchen display · <span id="station"></span></h2>
    <div id="tickets"><p class="empty">No open tickets</p></div>
  </section>
  <section>
    <h2>Manager</h2>
    <div id="metrics"></div>
    <h2>Live orders</h2>
    <ul id="feed"></ul>
  </section>
</main>
<script type="module" src="/demo/app.js"></script>
</body>
</html>
`;
}
