// Batched modular exponentiation b_i^e mod m (or b_i^(e_i) mod m), portable OpenCL C 1.2.
//
// Big integers are little-endian arrays of 64-bit limbs; the modulus m is odd, of L limbs
// (1024 to 8192 bits: L = 16 … 128); bases are < m. Montgomery multiplication (CIOS, Koç, Acar and
// Kaliski 1996) with R = 2^(64L); n0 = -m^-1 mod 2^64, r2 = R^2 mod m precomputed on the host.
// Fixed 4-bit windows, left to right, over every window of the exponent's E limbs: the sequence of
// operations and the memory touched do not depend on the exponent's value — each window's table
// entry is read by scanning all 16 entries and keeping one with a mask. One work-item per
// exponentiation; its scratch (20 values of L words and 2 more) lives in `scratch`. `count` is the
// batch size: the global size may be rounded up to whole work-groups, and the extra work-items return.
// The CPU reference is OpenSSL's BN_mod_exp_mont_consttime.

// (hi, lo) = x + y*z + c, which cannot overflow 128 bits.
inline ulong mac(ulong x, ulong y, ulong z, ulong c, ulong *hi) {
    ulong lo = y * z;
    ulong h = mul_hi(y, z);
    lo += x; h += (lo < x);
    lo += c; h += (lo < c);
    *hi = h;
    return lo;
}

// r = a*b*R^-1 mod m, with a, b < m; r may alias a or b. t has L + 2 words.
void mont_mul(__global ulong *r, __global const ulong *a, __global const ulong *b, __global const ulong *m,
              ulong n0, uint L, __global ulong *t) {
    for (uint j = 0; j < L + 2; j++) t[j] = 0;
    for (uint i = 0; i < L; i++) {
        ulong c = 0, bi = b[i];
        for (uint j = 0; j < L; j++) t[j] = mac(t[j], a[j], bi, c, &c);
        ulong s = t[L] + c;
        t[L + 1] = (s < c);
        t[L] = s;
        ulong q = t[0] * n0;
        mac(t[0], q, m[0], 0, &c);
        for (uint j = 1; j < L; j++) t[j - 1] = mac(t[j], q, m[j], c, &c);
        s = t[L] + c;
        t[L - 1] = s;
        t[L] = t[L + 1] + (s < c);
    }
    // t < 2m: subtract m when t >= m, choosing by mask (no branch on secret data).
    ulong borrow = 0;
    for (uint j = 0; j < L; j++) {
        ulong tj = t[j], d = tj - m[j];
        ulong b1 = (tj < m[j]);
        ulong d2 = d - borrow;
        ulong b2 = (d < borrow);
        r[j] = d2;               // tentatively t - m; chosen or overwritten below
        borrow = b1 | b2;
    }
    // keep t - m when there was a carry word or no final borrow
    ulong use_difference = (t[L] != 0) | (borrow == 0);
    ulong mask = (ulong)0 - use_difference;
    for (uint j = 0; j < L; j++) r[j] = (r[j] & mask) | (t[j] & ~mask);
}

__kernel void modexp_fixed_window(__global const ulong *bases, __global const ulong *exponents, uint exponent_stride,
                                  uint E, __global const ulong *m, __global const ulong *r2, ulong n0, uint L,
                                  __global ulong *scratch, __global ulong *out, uint count) {
    size_t gid = get_global_id(0);
    if (gid >= count) return;  // the global size is rounded up to whole work-groups
    __global ulong *table = scratch + gid * (size_t)(20 * L + 2);
    __global ulong *acc = table + 16 * L;
    __global ulong *tmp = acc + L;
    __global ulong *one = tmp + L;
    __global ulong *t = one + L;
    __global const ulong *base = bases + gid * (size_t)L;
    __global const ulong *e = exponents + gid * (size_t)exponent_stride;

    for (uint j = 0; j < L; j++) one[j] = (j == 0);
    mont_mul(table, r2, one, m, n0, L, t);                 // table[0] = R mod m (Montgomery 1)
    mont_mul(table + L, base, r2, m, n0, L, t);            // table[1] = base * R mod m
    for (uint k = 2; k < 16; k++) mont_mul(table + k * L, table + (k - 1) * L, table + L, m, n0, L, t);
    for (uint j = 0; j < L; j++) acc[j] = table[j];

    for (int w = (int)(E * 16) - 1; w >= 0; w--) {
        for (uint s = 0; s < 4; s++) mont_mul(acc, acc, acc, m, n0, L, t);
        uint window = (uint)((e[w >> 4] >> ((w & 15) * 4)) & 15u);
        for (uint j = 0; j < L; j++) tmp[j] = 0;
        for (uint k = 0; k < 16; k++) {
            ulong mask = (ulong)0 - (ulong)(k == window);
            for (uint j = 0; j < L; j++) tmp[j] |= table[k * L + j] & mask;
        }
        mont_mul(acc, acc, tmp, m, n0, L, t);
    }
    mont_mul(out + gid * (size_t)L, acc, one, m, n0, L, t); // leave Montgomery form
}
