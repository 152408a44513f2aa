export { createNameValidateAction } from './nameValidate';
