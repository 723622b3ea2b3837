// The bare Express + hbs page the HTTP benchmarks compare Tessera with, as a process of its own
// (started by lib.mjs's startBare): node bench/bare-server.mjs <port> <bytes> <rows> <table|tree> <dir>
import { bareServer } from './lib.mjs';

await bareServer(process.argv.slice(2));
