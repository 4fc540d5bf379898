import { describe, expect, it } from "vitest";
import { hashSecret, parseGatewayToken, secretMatches } from "../../src/control/api-keys.js";
import { checkNodeUrl, last4 } from "../../src/control/backends.js";
import { createSecretBox, SecretBoxError } from "../../src/control/secret-box.js";

const HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const B64_KEY = Buffer.alloc(32, 7).toString("base64");

describe("secret box (backend API keys at rest)", () => {
  it("seals as enc:v1:<iv>:<tag>:<ct> and opens it again; fresh IV each time", () => {
    const box = createSecretBox(HEX_KEY);
    const a = box.seal("my-typesense-key", "profile-1");
    const b = box.seal("my-typesense-key", "profile-1");
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("my-typesense-key");
    const [, , iv, tag] = a.split(":");
    expect(Buffer.from(iv!, "base64")).toHaveLength(12);
    expect(Buffer.from(tag!, "base64")).toHaveLength(16);
    expect(box.open(a, "profile-1")).toBe("my-typesense-key");
    expect(createSecretBox(B64_KEY).open(createSecretBox(B64_KEY).seal("k", "p"), "p")).toBe("k");
  });

  it("a ciphertext moved to another profile, tampered, or read under another key fails", () => {
    const box = createSecretBox(HEX_KEY);
    const sealed = box.seal("secret", "profile-1");
    expect(() => box.open(sealed, "profile-2")).toThrow(SecretBoxError);
    const parts = sealed.split(":");
    const ct = Buffer.from(parts[4]!, "base64");
    ct[0] = ct[0]! ^ 1;
    parts[4] = ct.toString("base64");
    expect(() => box.open(parts.join(":"), "profile-1")).toThrow(SecretBoxError);
    expect(() => createSecretBox(B64_KEY).open(sealed, "profile-1")).toThrow(
      /another encryption key/,
    );
    expect(() => createSecretBox("").open(sealed, "profile-1")).toThrow(
      /encryption_key is not set/,
    );
  });

  it("without a key: plain:<key>, and plain values stay readable after a key is configured", () => {
    const plain = createSecretBox("");
    expect(plain.encrypts).toBe(false);
    expect(plain.seal("k1", "p")).toBe("plain:k1");
    expect(createSecretBox(HEX_KEY).open("plain:k1", "p")).toBe("k1");
    expect(() => plain.open("garbage", "p")).toThrow(SecretBoxError);
  });
});

describe("gateway key format and hash", () => {
  it("parses only ath_{16 hex}.{64 hex}", () => {
    const ok = `ath_${"a1".repeat(8)}.${"0f".repeat(32)}`;
    expect(parseGatewayToken(ok)).toEqual({ publicId: "a1".repeat(8), secret: "0f".repeat(32) });
    for (const bad of [
      ok.toUpperCase(),
      `${ok}0`,
      ok.slice(1),
      `ath_${"a".repeat(15)}.${"b".repeat(64)}`,
      "",
    ]) {
      expect(parseGatewayToken(bad)).toBeNull();
    }
  });

  it('hash = hex sha256("{salt}:{secret}"), compared in constant time', () => {
    // `printf 's:x' | sha256sum`
    expect(hashSecret("s", "x")).toBe(
      "b9cc050815a801453cedfac2053ecbcf8b89b2bde28ec9768ad6a5d6c1844834",
    );
    const h = hashSecret("salt", "secret");
    expect(secretMatches("salt", "secret", h)).toBe(true);
    expect(secretMatches("salt", "secreT", h)).toBe(false);
    expect(secretMatches("other", "secret", h)).toBe(false);
    expect(secretMatches("salt", "secret", "00")).toBe(false);
  });
});

describe("backend URL policy", () => {
  it("https only unless allow_http; no credentials; trailing slash dropped", () => {
    expect(checkNodeUrl("https://ts.example.com:8108/", false, "base_url")).toBe(
      "https://ts.example.com:8108",
    );
    expect(() => checkNodeUrl("http://ts:8108", false, "base_url")).toThrow(/allow_http is false/);
    expect(checkNodeUrl("http://ts:8108", true, "base_url")).toBe("http://ts:8108");
    expect(() => checkNodeUrl("ftp://ts", true, "base_url")).toThrow(/https/);
    expect(() => checkNodeUrl("https://u:p@ts", true, "base_url")).toThrow(/credentials/);
    expect(() => checkNodeUrl("not a url", true, "base_url")).toThrow(/not a valid URL/);
  });

  it("last4 hides short keys entirely", () => {
    expect(last4("abcdefghijkl")).toBe("ijkl");
    expect(last4("short")).toBe("");
  });
});
