import { describe, expect, it } from 'vitest';
import { assertLocalFilesystem, filesystemType } from '../../../shared/db.js';
import { ConfigError } from '../../../shared/errors.js';

const MOUNTINFO = [
  '22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '30 22 0:40 / /home rw,relatime shared:2 - nfs4 server:/home rw,vers=4.2',
  '31 22 0:41 / /home/local\\040disk rw - xfs /dev/vdb rw',
  '32 22 0:42 / /gpfs/scratch rw - gpfs scratch rw',
].join('\n');

describe('filesystemType', () => {
  it('picks the longest mount point holding the directory', () => {
    expect(filesystemType('/var/tmp/pgc', MOUNTINFO)).toBe('ext4');
    expect(filesystemType('/home/alice/.pgc', MOUNTINFO)).toBe('nfs4');
    expect(filesystemType('/home/local disk/pgc', MOUNTINFO)).toBe('xfs');
    expect(filesystemType('/homework', MOUNTINFO)).toBe('ext4');
  });
});

describe('assertLocalFilesystem', () => {
  it('refuses a state directory on NFS or GPFS with a message that says what to do', () => {
    expect(() => assertLocalFilesystem('/home/alice/.pgc', MOUNTINFO)).toThrow(ConfigError);
    expect(() => assertLocalFilesystem('/gpfs/scratch/pgc', MOUNTINFO)).toThrow(
      /network filesystem \(gpfs\).*local --state-dir/,
    );
    expect(() => assertLocalFilesystem('/var/tmp/pgc', MOUNTINFO)).not.toThrow();
  });
});
