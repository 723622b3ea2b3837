import { Module } from '@nestjs/common';
import { CustomPropertiesController } from './custom-properties.controller';
import { CustomPropertiesService } from './custom-properties.service';

@Module({
  controllers: [CustomPropertiesController],
  providers: [CustomPropertiesService],
  exports: [CustomPropertiesService],
})
export class CustomPropertiesModule {}
