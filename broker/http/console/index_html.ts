/**
 * The console page (plain HTML; the script and style are separate assets).
 *
 * @module
 */

/** The console page served at `/`. */
export const CONSOLE_HTML: string = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Denka console</title>
<link rel="stylesheet" href="/console/style.css">
</head>
<body>
<header>
  <h1>Denka</h1>
  <span id="cluster" class="muted"></span>
  <span id="status" class="pill">connecting</span>
</header>
<main>
  <section id="brokers-section">
    <h2>Brokers</h2>
    <table id="brokers">
      <thead><tr><th>Node</th><th>Address</th><th>Rack</th><th>Role</th><th>Leaders</th><th>Replicas</th><th>Out of ISR</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section id="topics-section">
    <h2>Topics</h2>
    <table id="topics">
      <thead><tr><th>Topic</th><th>Partitions</th><th>Size</th><th>Records (end offsets)</th><th>Rate</th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="partitions-panel" hidden>
      <h3>Partitions of <span id="partitions-topic"></span></h3>
      <table id="partitions">
        <thead><tr><th>Partition</th><th>Leader</th><th>Replicas</th><th>ISR</th><th>Reassigning</th><th>Log start</th><th>High watermark</th><th>Size</th><th>Segments</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>

  <section id="chart-section">
    <h2>Throughput <span class="muted">(records/s, last 10 minutes)</span></h2>
    <canvas id="chart" width="900" height="220"></canvas>
    <div id="chart-legend"></div>
  </section>

  <section id="groups-section">
    <h2>Consumer groups</h2>
    <table id="groups">
      <thead><tr><th>Group</th><th>State</th><th>Members</th><th>Total lag</th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="group-panel" hidden>
      <h3>Group <span id="group-name"></span></h3>
      <table id="group-lags">
        <thead><tr><th>Topic</th><th>Partition</th><th>Committed</th><th>End offset</th><th>Lag</th><th>Member</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>

  <section id="transactions-section">
    <h2>Transactions</h2>
    <table id="transactions">
      <thead><tr><th>Transactional id</th><th>State</th><th>Producer id</th><th>Epoch</th><th>Partitions</th><th>Age</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section id="forms-section" class="row">
    <form id="create-topic">
      <h2>Create a topic</h2>
      <label>Name <input name="topic_name" required pattern="[a-zA-Z0-9._-]+"></label>
      <label>Partitions <input name="partitions_count" type="number" min="1" value="1"></label>
      <button type="submit">Create</button>
      <output id="create-result"></output>
    </form>
    <form id="send-record">
      <h2>Send a test record</h2>
      <label>Topic <select name="topic" class="topic-select" required></select></label>
      <label>Partition <input name="partition" type="number" min="0" placeholder="by key"></label>
      <label>Key <input name="key"></label>
      <label>Value <textarea name="value" rows="2"></textarea></label>
      <label>Headers <input name="headers" placeholder="k1=v1, k2=v2"></label>
      <button type="submit">Send</button>
      <output id="send-result"></output>
    </form>
  </section>

  <section id="browser-section">
    <h2>Records</h2>
    <form id="browse" class="inline">
      <label>Topic <select name="topic" class="topic-select" required></select></label>
      <label>Partition <input name="partition" type="number" min="0" value="0"></label>
      <label>From offset <input name="offset" type="number" min="0" placeholder="start"></label>
      <label>Max <input name="max" type="number" min="1" max="1000" value="50"></label>
      <label>View <select name="view"><option>text</option><option>json</option><option>hex</option></select></label>
      <button type="submit">Read</button>
      <button type="button" id="tail-toggle">Live tail</button>
      <output id="browse-result"></output>
    </form>
    <table id="records">
      <thead><tr><th>Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script src="/console/app.js"></script>
</body>
</html>
`;
