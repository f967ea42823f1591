import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '6.7', name: 'other cluster sizes and kill orders, and a replica that restarts again and again', points: 25, timeoutMs: 120_000, needs: ['6.2'], spec: 'spec/06-replication.md#4-roles' },
  { id: '6.8', name: 'explored schedules: crashes at named points (a backup just after it answered, the primary before it tells the commit index, a backup restarted empty)', points: 15, timeoutMs: 150_000, needs: ['6.2'], spec: 'spec/06-replication.md#53-the-backup' },
]);
