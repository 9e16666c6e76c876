import COpenSSL

/// X25519 (RFC 7748) with a fixed private scalar, through `EVP_PKEY_derive`: the commutative
/// blinding of ECDH-PSI. `multiply(u)` = X25519(k, u) for any 32-byte u-coordinate (the top bit
/// is masked, as RFC 7748 says).
public final class X25519Key: @unchecked Sendable {
    let key: OpaquePointer
    /// The private scalar as given (32 bytes; clamped inside X25519).
    public let scalar: [UInt8]

    /// A key from 32 bytes, or a fresh random one.
    /// - Throws: ``CryptoError`` when libcrypto lacks X25519 or the bytes are not 32.
    public init(scalar: [UInt8]? = nil) throws {
        var bytes = scalar ?? [UInt8](repeating: 0, count: 32)
        if scalar == nil { guard RAND_bytes(&bytes, 32) == 1 else { throw CryptoError.last("RAND_bytes") } }
        guard bytes.count == 32 else {
            throw CryptoError(function: "X25519", reason: "a private key is 32 bytes, got \(bytes.count)")
        }
        guard let key = EVP_PKEY_new_raw_private_key(arca_EVP_PKEY_X25519(), nil, bytes, 32) else {
            throw CryptoError.last("EVP_PKEY_new_raw_private_key(X25519)")
        }
        self.key = key
        self.scalar = bytes
    }
    deinit { EVP_PKEY_free(key) }

    /// X25519(k, u): 32 bytes.
    /// - Throws: ``CryptoError`` when `u` is not 32 bytes or is a low-order point (all-zero result).
    public func multiply(_ u: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        guard u.count == 32, out.count >= 32 else {
            throw CryptoError(function: "X25519", reason: "a u-coordinate is 32 bytes, got \(u.count)")
        }
        guard
            let peer = EVP_PKEY_new_raw_public_key(
                arca_EVP_PKEY_X25519(), nil, u.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        else {
            throw CryptoError.last("EVP_PKEY_new_raw_public_key(X25519)")
        }
        defer { EVP_PKEY_free(peer) }
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.last("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 32
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer) == 1,
            EVP_PKEY_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1, length == 32
        else {
            throw CryptoError.last("EVP_PKEY_derive(X25519)")
        }
    }

    /// A derivation context for many multiplications on one thread: the key's `EVP_PKEY_CTX` is
    /// initialised once and one peer `EVP_PKEY` is refilled for each u, instead of fetching the
    /// algorithm for every item.
    public final class Deriver {
        let context: OpaquePointer
        var peer: OpaquePointer?
        init(_ key: OpaquePointer) throws {
            guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.last("EVP_PKEY_CTX_new") }
            guard EVP_PKEY_derive_init(context) == 1 else {
                EVP_PKEY_CTX_free(context); throw CryptoError.last("EVP_PKEY_derive_init(X25519)")
            }
            self.context = context
        }
        deinit { EVP_PKEY_CTX_free(context); if let peer { EVP_PKEY_free(peer) } }

        /// X25519(k, u) into `out` (32 bytes).
        /// - Throws: ``CryptoError`` when `u` is not 32 bytes or is a low-order point (all-zero result).
        public func multiply(_ u: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
            guard u.count == 32, out.count >= 32 else {
                throw CryptoError(function: "X25519", reason: "a u-coordinate is 32 bytes, got \(u.count)")
            }
            let bytes = u.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if let peer {
                guard EVP_PKEY_set1_encoded_public_key(peer, bytes, 32) == 1 else {
                    throw CryptoError.last("EVP_PKEY_set1_encoded_public_key(X25519)")
                }
            } else {
                guard let made = EVP_PKEY_new_raw_public_key(arca_EVP_PKEY_X25519(), nil, bytes, 32) else {
                    throw CryptoError.last("EVP_PKEY_new_raw_public_key(X25519)")
                }
                peer = made
            }
            var length = 32
            guard EVP_PKEY_derive_set_peer_ex(context, peer, 0) == 1,
                EVP_PKEY_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1,
                length == 32
            else {
                throw CryptoError.last("EVP_PKEY_derive(X25519)")
            }
        }
    }

    /// A ``Deriver`` for one thread's batch.
    public func deriver() throws -> Deriver { try Deriver(key) }

    /// X25519(k, u) for one u.
    public func multiply(_ u: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        try u.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try multiply(input, into: $0) } }
        return out
    }
}

/// The SM2 curve (GB/T 32918.5) through OpenSSL's `EC_GROUP` `SM2`, with a secret scalar: hashing
/// to the curve and point multiplication for ECDH-PSI. Points travel compressed (33 bytes).
public final class SM2Key: @unchecked Sendable {
    let group: OpaquePointer
    let scalar: OpaquePointer
    /// Bytes of a compressed point.
    public static let pointBytes = 33

    /// A random scalar in [1, n).
    public init() throws {
        guard let group = EC_GROUP_new_by_curve_name(arca_NID_sm2()) else {
            throw CryptoError.last("EC_GROUP_new_by_curve_name(SM2)")
        }
        self.group = group
        let scalar = BN_new()!
        let order = EC_GROUP_get0_order(group)
        repeat {
            guard BN_rand_range(scalar, order) == 1 else {
                BN_free(scalar); EC_GROUP_free(group); throw CryptoError.last("BN_rand_range")
            }
        } while BN_is_zero(scalar) == 1
        BN_set_flags(scalar, Int32(BN_FLG_CONSTTIME))
        self.scalar = scalar
    }
    deinit { BN_clear_free(scalar); EC_GROUP_free(group) }

    /// A per-thread scratch context for a batch.
    public final class Scratch {
        let context: OpaquePointer
        let point: OpaquePointer
        let product: OpaquePointer
        let x: OpaquePointer
        init(group: OpaquePointer) {
            context = BN_CTX_new()!; point = EC_POINT_new(group)!; product = EC_POINT_new(group)!; x = BN_new()!
        }
        deinit { BN_CTX_free(context); EC_POINT_free(point); EC_POINT_free(product); BN_free(x) }
    }
    public func scratch() -> Scratch { Scratch(group: group) }

    /// Hashes `id` to a point (try-and-increment: x = SM3(id ‖ counter) mod p for counter 0, 1, …
    /// until x is an abscissa on the curve; the even y), multiplies it by the scalar and writes the
    /// compressed product (33 bytes) to `out`.
    public func hashAndMultiply(_ id: [UInt8], into out: UnsafeMutableRawBufferPointer, scratch: Scratch) throws {
        let p = BN_new()!
        defer { BN_free(p) }
        guard EC_GROUP_get_curve(group, p, nil, nil, scratch.context) == 1 else {
            throw CryptoError.last("EC_GROUP_get_curve")
        }
        var counter: UInt32 = 0
        while true {
            var input = id
            input += [
                UInt8(counter >> 24), UInt8(truncatingIfNeeded: counter >> 16), UInt8(truncatingIfNeeded: counter >> 8),
                UInt8(truncatingIfNeeded: counter),
            ]
            let digest = try Digest.sm3.hash(input)
            BN_bin2bn(digest, 32, scratch.x)
            BN_nnmod(scratch.x, scratch.x, p, scratch.context)
            ERR_set_mark()
            if EC_POINT_set_compressed_coordinates(group, scratch.point, scratch.x, 0, scratch.context) == 1 {
                ERR_pop_to_mark()
                break
            }
            ERR_pop_to_mark()
            counter += 1
            guard counter < 1000 else {
                throw CryptoError(function: "SM2 hash to curve", reason: "no point after 1000 tries")
            }
        }
        try multiplyPoint(scratch.point, into: out, scratch: scratch)
    }

    /// Multiplies the compressed point `encoded` by the scalar; writes the compressed product.
    /// - Throws: ``CryptoError`` when `encoded` is not a point of the curve.
    public func multiply(
        _ encoded: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, scratch: Scratch
    ) throws {
        guard
            EC_POINT_oct2point(
                group, scratch.point, encoded.baseAddress!.assumingMemoryBound(to: UInt8.self), encoded.count,
                scratch.context) == 1
        else {
            throw CryptoError.last("EC_POINT_oct2point(SM2)")
        }
        try multiplyPoint(scratch.point, into: out, scratch: scratch)
    }

    private func multiplyPoint(_ point: OpaquePointer, into out: UnsafeMutableRawBufferPointer, scratch: Scratch) throws
    {
        guard EC_POINT_mul(group, scratch.product, nil, point, scalar, scratch.context) == 1 else {
            throw CryptoError.last("EC_POINT_mul(SM2)")
        }
        let written = EC_POINT_point2oct(
            group, scratch.product, POINT_CONVERSION_COMPRESSED, out.baseAddress!.assumingMemoryBound(to: UInt8.self),
            Self.pointBytes, scratch.context)
        guard written == Self.pointBytes else { throw CryptoError.last("EC_POINT_point2oct(SM2)") }
    }
}

extension BigNumber {
    /// `value` mod `modulus`, squared mod `modulus`: maps a hash into the quadratic residues.
    public static func squareMod(_ value: BigNumber, _ modulus: BigNumber) -> BigNumber {
        let result = BN_new()!, context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        BN_nnmod(result, value.bn, modulus.bn, context)
        BN_mod_sqr(result, result, modulus.bn, context)
        return BigNumber(owning: result)
    }

    /// Big-endian bytes left-padded with zeros to `count`.
    public func bigEndianBytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2binpad(bn, $0.baseAddress, Int32(count)) }
        return bytes
    }

    /// True when 1 < self < modulus (an element worth raising: not 0 or 1, reduced).
    public func isNonTrivialElement(of modulus: BigNumber) -> Bool {
        BN_is_one(bn) == 0 && BN_is_zero(bn) == 0 && BN_cmp(bn, modulus.bn) < 0
    }
}
