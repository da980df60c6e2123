//! random_get: bytes from the host's CSPRNG (getrandom(2)), or from a seeded stream
//! (splitmix64) when the configuration asks for reproducible runs.

use super::Args;
use crate::errno::WasiResult;
use crate::memory::GuestMemory;
use crate::WasiCtx;

pub fn random_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let (buf, len) = (a.u32(0), a.u32(1));
    mem.check(buf, len)?;
    let mut chunk = vec![0u8; (len as usize).min(64 << 10)];
    let mut done = 0u32;
    while done < len {
        let n = ((len - done) as usize).min(chunk.len());
        if let Some(state) = &ctx.random {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            for bytes in chunk[..n].chunks_mut(8) {
                let v = splitmix64(&mut state).to_le_bytes();
                bytes.copy_from_slice(&v[..bytes.len()]);
            }
            mem.write(buf + done, &chunk[..n])?;
            done += n as u32;
            continue;
        }
        let mut filled = 0;
        while filled < n {
            match rustix::rand::getrandom(
                &mut chunk[filled..n],
                rustix::rand::GetRandomFlags::empty(),
            ) {
                Ok(k) => filled += k,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        mem.write(buf + done, &chunk[..n])?;
        done += n as u32;
    }
    Ok(())
}

/// The next value of the splitmix64 stream at `state`.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
