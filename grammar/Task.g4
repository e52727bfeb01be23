// The .task language: blocks of `name = value;` fields.
//   task KIND { ... }   model ARCH { ... }   eval { ... }
// Rules carry no actions; the AST is built by a visitor in
// compiler/frontend/Parser.cpp, and all meaning checks live in Sema.cpp.
grammar Task;

file   : block* EOF ;
block  : kind=ID head=ID? '{' field* '}' ;
field  : name=ID '=' value ';' ;
value  : scalar | list ;
list   : '[' ( scalar ( ',' scalar )* ','? )? ']' ;
scalar : INT | POWER | FLOAT | ID | STRING ;
// Used by command-line overrides (-D block.field=value).
valueOnly : value EOF ;

POWER  : '-'? DIGITS '^' DIGITS ;
FLOAT  : '-'? DIGITS '.' DIGITS EXPONENT? | '-'? DIGITS EXPONENT ;
INT    : '-'? DIGITS ;
ID     : [a-zA-Z_] [a-zA-Z_0-9]* ;
STRING : '"' ( ~["\\\r\n] | '\\' ["\\] )* '"' ;

LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
WS            : [ \t\r\n]+ -> skip ;

// Error tokens: they never appear in a valid file, and the parser's error
// listener turns them into precise messages.
UNTERMINATED_COMMENT : '/*' ;
UNTERMINATED_STRING  : '"' ( ~["\\\r\n] | '\\' . )* ;
BAD_CHAR             : . ;

fragment DIGITS   : [0-9]+ ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
