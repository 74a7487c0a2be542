// Runs Azurite's blob service and lets the emulator change its accounts live.
// Azurite reads AZURITE_ACCOUNTS only at start and once a minute; this wrapper
// reads "ACCOUNTS <seq> <value>" lines on stdin, updates the variable, refreshes
// every account store at once and answers "EMU-ACK <seq>" on stdout.
// When stdin closes (the Python parent is gone, however it died) we exit, so
// no Azurite is ever left behind; with its data on disk (--location), once
// Azurite has closed its stores.
"use strict";
const readline = require("readline");
const AccountDataStore = require("azurite/dist/src/common/AccountDataStore").default;

const stores = [];
const originalInit = AccountDataStore.prototype.init;
AccountDataStore.prototype.init = function () {
  stores.push(this);
  return originalInit.call(this);
};

// The emulator's proxy speaks TLS to clients and plain http to Azurite: it
// says so in X-Forwarded-Proto, so a SAS limited to https (spr=https) is
// checked against what the client really used.
const ExpressRequestAdapter =
  require("azurite/dist/src/blob/generated/ExpressRequestAdapter").default;
const originalProtocol = ExpressRequestAdapter.prototype.getProtocol;
ExpressRequestAdapter.prototype.getProtocol = function () {
  return this.req.headers["x-forwarded-proto"] || originalProtocol.call(this);
};

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const match = /^ACCOUNTS (\d+) ?(.*)$/.exec(line);
  if (!match) {
    return;
  }
  process.env.AZURITE_ACCOUNTS = match[2];
  stores.forEach((store) => store.refresh());
  process.stdout.write(`EMU-ACK ${match[1]}\n`);
});
// Azurite's own SIGTERM handler (a signal to the whole process group, or raised
// below) closes its stores, which writes what they hold: then nothing is left to do.
const log = console.log;
console.log = (...args) => {
  log(...args);
  if (String(args[0]).includes("successfully closed")) {
    process.exit(0);
  }
};
lines.on("close", () => {
  if (process.argv.includes("--inMemoryPersistence")) {
    process.exit(0);
  }
  setTimeout(() => process.exit(0), 5000);
  process.emit("SIGTERM");
});

require("azurite/dist/src/blob/main.js");
