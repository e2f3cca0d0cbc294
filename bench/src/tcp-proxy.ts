// The same loopback proxy the tests use to take the database away; one implementation for both.
export { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.ts";
