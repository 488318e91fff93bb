export * from "@hato/protocol";
