//! random_get: bytes from the host's CSPRNG (getrandom(2)).

use super::Args;
use crate::errno::WasiResult;
use crate::memory::GuestMemory;
use crate::WasiCtx;

pub fn random_get(_ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let (buf, len) = (a.u32(0), a.u32(1));
    mem.check(buf, len)?;
    let mut chunk = vec![0u8; (len as usize).min(64 << 10)];
    let mut done = 0u32;
    while done < len {
        let n = ((len - done) as usize).min(chunk.len());
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
