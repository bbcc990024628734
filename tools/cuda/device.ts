/** A bare device session for the kernel checks: driver, context, stream, fp32 kernels, buffers. */
import {
  discoverCuda,
  CudaDriver,
  loadNvrtc,
  KernelSet,
  type DevicePtr,
  type Precision,
} from '@ner-launch/cuda';

/** What the kernel checks launch on. */
export class CheckDevice {
  readonly driver: CudaDriver;
  readonly stream: unknown;
  readonly kernels: KernelSet;
  readonly name: string;
  private readonly allocations: DevicePtr[] = [];

  constructor(precision: Precision = 'fp32') {
    const discovery = discoverCuda();
    this.driver = CudaDriver.load(discovery);
    const device = this.driver.device(0);
    this.driver.retainPrimaryContext(device);
    this.name = this.driver.gpus()[0]!.name;
    const [major, minor] = this.driver.computeCapability(device);
    this.stream = this.driver.createStream();
    this.kernels = new KernelSet(
      this.driver,
      loadNvrtc(discovery),
      major * 10 + minor,
      precision,
      this.stream,
      this.driver.multiprocessors(device),
    );
  }

  /** A device copy of `values` (float32 or int32). */
  upload(values: Float32Array | Int32Array): DevicePtr {
    const ptr = this.driver.alloc(values.byteLength);
    this.allocations.push(ptr);
    this.driver.upload(ptr, values);
    return ptr;
  }

  /** `count` zeroed 32-bit words. */
  zeros(count: number): DevicePtr {
    const ptr = this.driver.alloc(count * 4);
    this.allocations.push(ptr);
    this.driver.fill32(ptr, 0, count);
    return ptr;
  }

  floats(ptr: DevicePtr, count: number): Float32Array {
    const out = new Float32Array(count);
    this.driver.synchronize(this.stream);
    this.driver.download(out, ptr);
    return out;
  }

  ints(ptr: DevicePtr, count: number): Int32Array {
    const out = new Int32Array(count);
    this.driver.synchronize(this.stream);
    this.driver.download(out, ptr);
    return out;
  }

  /** Frees what this session allocated. */
  dispose(): void {
    for (const ptr of this.allocations) this.driver.free(ptr);
    this.kernels.dispose();
  }
}
