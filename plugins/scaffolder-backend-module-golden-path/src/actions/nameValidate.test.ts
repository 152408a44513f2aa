import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import yaml from 'yaml';
import { createNameValidateAction } from './nameValidate';
import { examples } from './nameValidate.examples';

describe('idp:name:validate', () => {
  const action = createNameValidateAction();

  it('outputs the derived names for a valid name', async () => {
    const ctx = createMockActionContext({ input: { name: 'payments-api' } });
    await action.handler(ctx);
    expect(ctx.output).toHaveBeenCalledWith('gitopsRepository', 'payments-api-gitops');
    expect(ctx.output).toHaveBeenCalledWith('namespace', 'payments-api');
  });

  it.each([
    ['Payments', 'contains uppercase letters'],
    ['9lives', 'does not start with a letter'],
    ['trailing-', 'ends with "-"'],
    ['a', 'is 1 characters long'],
    ['under_score', 'contains characters other than'],
  ])('rejects %p with an error naming the field and the rule', async (name, what) => {
    const ctx = createMockActionContext({ input: { name } });
    await expect(action.handler(ctx)).rejects.toThrow(
      new RegExp(`^name "${name}" ${what}.*; use 3-40 characters`),
    );
  });

  it.each(examples.map(e => [e.description, e.example]))(
    'runs the example "%s"',
    async (_description, example) => {
      const step = yaml.parse(example).steps[0];
      const ctx = createMockActionContext({ input: step.input });
      await action.handler(ctx);
      expect(ctx.output).toHaveBeenCalled();
    },
  );
});
