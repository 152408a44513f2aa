import Typography from '@material-ui/core/Typography';
import { ReactNode } from 'react';

/** One labelled value of a card. */
export function Field(props: { label: string; children: ReactNode }) {
  return (
    <div style={{ marginBottom: 12 }}>
      <Typography variant="overline" component="div" color="textSecondary">
        {props.label}
      </Typography>
      <Typography variant="body2" component="div">
        {props.children}
      </Typography>
    </div>
  );
}
