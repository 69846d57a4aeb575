// user: user profiles (no dependencies).
//   GET /users      -> { users: [...] }
//   GET /users/:id  -> one user, or 404
import { startService, HttpError } from './lib/http-service.mjs';

const users = [
  { id: 1, name: 'Ada Lovelace', role: 'admin' },
  { id: 2, name: 'Grace Hopper', role: 'analyst' },
  { id: 3, name: 'Alan Turing', role: 'viewer' },
];

startService({
  name: 'user',
  defaultPort: 8005,
  routes: {
    'GET /users': () => ({ users }),
    'GET /users/:id': ({ params }) => {
      const user = users.find((u) => u.id === Number(params.id));
      if (!user) throw new HttpError(404, `no user ${params.id}`);
      return user;
    },
  },
});
